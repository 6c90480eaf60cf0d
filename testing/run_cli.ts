/** Runs the glacier command line as a child process, the way a user (or cron) would. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { V8_FLAGS_OPTION } from "../lib/cli/v8_flags.ts";
import { CRASH_POINT_LINE } from "../lib/backup/crash_point.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** What a run printed and how it ended. */
export interface CliResult {
  code: number;
  /** Set when the process was killed by a signal (e.g. "SIGKILL"). */
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * The command line that runs `glacier ARGS...` from the sources, with the V8 flags every start of
 * the program takes (lib/cli/v8_flags.ts) and `denoOptions` (e.g. `--cached-only`) before the
 * module.
 */
export function glacierCommand(args: string[], denoOptions: string[] = []): string[] {
  return [
    Deno.execPath(),
    "run",
    "--allow-all",
    "--quiet",
    V8_FLAGS_OPTION,
    ...denoOptions,
    MAIN,
    ...args,
  ];
}

/**
 * Runs `glacier ARGS...` with extra environment variables, in `cwd`; `wrapper` is a command line
 * that runs it (e.g. in another mount namespace: `unshare ... --`).
 */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; wrapper?: string[] } = {},
): Promise<CliResult> {
  const [program, ...programArgs] = [...(options.wrapper ?? []), ...glacierCommand(args)];
  const output = await new Deno.Command(program, {
    args: programArgs,
    env: { NO_COLOR: "1", ...options.env },
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    signal: output.signal,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * The state database of a `glacier backup` run, read from its output contract: the path is the
 * first line on stdout, printed as soon as the database exists (so a failed or killed run has it
 * too, unless it died before); the summary of a finished run follows it. Throws, with the run's
 * output, when that line is absent.
 */
export function stateDbFrom(result: CliResult): string {
  const match = /^([^\n]+\.sqlite3)\n/.exec(result.stdout);
  if (!match) {
    throw new Error(
      `expected the state database's path as the first stdout line of glacier backup, got ` +
        `${JSON.stringify(result.stdout)} (exit ${result.code}${
          result.signal ? `, ${result.signal}` : ""
        }); stderr:\n${result.stderr}`,
    );
  }
  return match[1];
}

/**
 * Asserts that a run was killed (SIGKILL) rather than ended: by a crash point
 * (`GLACIER_TEST_CRASH_AT`), or by the test when `byTest`. On Windows a killed process shows no
 * signal, only exit code 1; a crash point's kill is told there by the line it writes first.
 */
export function assertKilled(result: CliResult, message = "", byTest = false): void {
  const context = `${message}${message ? ": " : ""}exit ${result.code}, signal ${result.signal}\n` +
    result.stderr;
  if (Deno.build.os !== "windows") {
    assert.equal(result.signal, "SIGKILL", context);
    return;
  }
  assert.equal(result.code, 1, context);
  if (!byTest) assert.ok(result.stderr.includes(CRASH_POINT_LINE), context);
}
