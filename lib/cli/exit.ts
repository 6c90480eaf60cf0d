/** Exit codes and the errors that map onto them. */
import { CatalogError } from "../catalog/catalog.ts";
import { AgeError } from "../crypto/errors.ts";

/** The program's exit codes (DESIGN.md). */
export const ExitCode = {
  /** Done. */
  Ok: 0,
  /** Done, with warnings: some files skipped or changed while read. */
  Warnings: 1,
  /** Bad usage or input. */
  Usage: 2,
  /** Failed; a backup can be resumed. */
  Failed: 3,
} as const;

/** Bad command-line usage or input: exit code 2, one line, no stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A failure that has already been explained to the user; carries its exit code. */
export class ExitError extends Error {
  override name = "ExitError";
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** One line describing any thrown value, without a stack trace. */
export function errorLine(error: unknown): string {
  if (error instanceof Error) {
    const text = error.message.split("\n")[0].trim();
    return text === "" ? error.name : text;
  }
  return String(error);
}

/**
 * The exit code a command ends with when it throws `error`: the code an `ExitError` carries, 2
 * for bad usage or input (a usage error, a state database that is not one, a wrong key), else 3.
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof ExitError) return error.code;
  const usage = error instanceof UsageError || error instanceof CatalogError ||
    error instanceof AgeError;
  return usage ? ExitCode.Usage : ExitCode.Failed;
}
