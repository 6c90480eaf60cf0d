/** Exit codes and the errors that map onto them. */
import { CatalogError } from "../catalog/catalog.ts";
import { AgeError } from "../crypto/errors.ts";
import { UsageError } from "../archive/errors.ts";
import type { Outcome } from "../archive/report.ts";

/** The one-line description of a failure, for main.ts (which only talks to the terminal layer). */
export { errorLine } from "../archive/errors.ts";

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

/** A failure that has already been explained to the user; carries its exit code. */
export class ExitError extends Error {
  override name = "ExitError";
  constructor(readonly code: number, message: string) {
    super(message);
  }
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

/** The exit code of a use case's outcome: the one place where outcomes become exit codes. */
export function exitCodeOf(outcome: Outcome): number {
  switch (outcome) {
    case "done":
      return ExitCode.Ok;
    case "done-with-warnings":
      return ExitCode.Warnings;
    case "refused":
      return ExitCode.Usage;
    case "failed":
    case "abandoned":
      return ExitCode.Failed;
  }
}
