/**
 * The error types every layer may throw and describe: they live below the use cases so that
 * flows, pricing and commands share them without reaching into the terminal layer
 * (lib/cli/exit.ts turns them into exit codes).
 */

/** Bad command-line usage or input: exit code 2, one line, no stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** One line describing any thrown value, without a stack trace. */
export function errorLine(error: unknown): string {
  if (error instanceof Error) {
    const text = error.message.split("\n")[0].trim();
    return text === "" ? error.name : text;
  }
  return String(error);
}
