/**
 * Starts the glacier command line as a child process that a test can kill (SIGKILL at a random
 * moment) or bound in time, unlike `runCli`, which only waits for the end.
 */
import { type CliResult, glacierCommand } from "./run_cli.ts";

/** A running `glacier` process. */
export interface CliProcess {
  /** The child process (kill it with `child.kill("SIGKILL")`). */
  readonly child: Deno.ChildProcess;
  /** Resolves when the process has ended, with everything it printed. */
  readonly result: Promise<CliResult>;
  /** Sends SIGKILL unless the process has already ended; true if the signal was sent. */
  kill(): boolean;
}

/** Starts `glacier ARGS...` with extra environment variables, in `cwd`. */
export function spawnCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): CliProcess {
  const [program, ...programArgs] = glacierCommand(args);
  const child = new Deno.Command(program, {
    args: programArgs,
    env: { NO_COLOR: "1", ...options.env },
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let ended = false;
  const result = child.output().then((output) => {
    ended = true;
    const decoder = new TextDecoder();
    return {
      code: output.code,
      signal: output.signal,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  });
  return {
    child,
    result,
    kill() {
      if (ended) return false;
      try {
        child.kill("SIGKILL");
        return true;
      } catch {
        return false; // ended between the check and the kill
      }
    },
  };
}

/**
 * Runs `glacier ARGS...` to its end, or kills it after `timeoutMs` and throws: a test's own bound
 * on a command that would otherwise retry for ever.
 */
export async function runCliWithin(
  timeoutMs: number,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  const process = spawnCli(args, options);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = process.kill();
  }, timeoutMs);
  try {
    const result = await process.result;
    if (timedOut) {
      throw new Error(
        `glacier ${args[0]} did not finish within ${timeoutMs / 1000} s; last output:\n` +
          result.stderr.slice(-4000),
      );
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}
