/**
 * Whole-process measurements of the bench: each run under GNU `/usr/bin/time` (user and system
 * CPU of the process and all its children, peak RSS of the largest single process of the tree),
 * two commands run in turn (A B A B ...) after a warm-up so that a ratio holds when the machine's
 * speed drifts, and medians with min and max.
 */

/** What one finished run cost. */
export interface RunFigures {
  /** Wall seconds. */
  wall: number;
  /** CPU seconds (user + system) of the process and its children. */
  cpu: number;
  /** Peak resident memory of the largest single process of the run, in KiB. */
  rssKiB: number;
}

/** One command to run: its argument vector and extra environment. */
export interface Invocation {
  command: string[];
  env?: Record<string, string>;
}

/** One side of a comparison: what to run, with untimed work before and after each run. */
export interface Side {
  label: string;
  /** The command of run `index` (the warm-up runs count too). */
  invocation: (index: number) => Invocation;
  before?: (index: number) => Promise<void>;
  after?: (index: number) => Promise<void>;
}

/** The counted runs of two commands, and the pairwise wall-time ratios A/B. */
export interface Comparison {
  a: RunFigures[];
  b: RunFigures[];
  ratios: number[];
}

/** The child of the run in progress, so that an interrupted bench can end it. */
let running: Deno.ChildProcess | undefined;

/** Ends the run in progress, if any (for an interrupted bench). */
export function killRunning(): void {
  try {
    running?.kill("SIGKILL");
  } catch {
    // already gone
  }
}

/** Runs a command once under `/usr/bin/time`; throws with its error output if it fails. */
export async function timed(invocation: Invocation): Promise<RunFigures> {
  const report = await Deno.makeTempFile({ prefix: "glacier-bench-time-" });
  try {
    const started = performance.now();
    const child = new Deno.Command("/usr/bin/time", {
      args: ["-f", "%e %U %S %M", "-o", report, "--", ...invocation.command],
      env: invocation.env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    running = child;
    const errors = tail(child.stderr);
    const status = await child.status;
    running = undefined;
    const wall = (performance.now() - started) / 1000;
    const errorText = await errors;
    if (!status.success) {
      throw new Error(
        `${invocation.command.join(" ")} failed (exit ${status.code}): ${errorText.trim()}`,
      );
    }
    const [, user, sys, rss] = (await Deno.readTextFile(report)).trim().split("\n").at(-1)!
      .split(" ").map(Number);
    return { wall, cpu: user + sys, rssKiB: rss };
  } finally {
    await Deno.remove(report).catch(() => {});
  }
}

/** The last few KiB a stream carries, as text. */
async function tail(stream: ReadableStream<Uint8Array>): Promise<string> {
  let kept = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) kept = (kept + decoder.decode(chunk)).slice(-4096);
  return kept;
}

/** Runs `a` and `b` in turn, `warmup` uncounted pairs first, then `runs` counted pairs. */
export async function compare(
  a: Side,
  b: Side,
  runs: number,
  warmup: number,
  progress: (line: string) => void,
): Promise<Comparison> {
  const result: Comparison = { a: [], b: [], ratios: [] };
  for (let index = 0; index < warmup + runs; index++) {
    const pair: RunFigures[] = [];
    for (const side of [a, b]) {
      await side.before?.(index);
      pair.push(await timed(side.invocation(index)));
      await side.after?.(index);
    }
    const what = index < warmup ? "warm-up" : `run ${index - warmup + 1}/${runs}`;
    progress(
      `  ${what}: ${a.label} ${pair[0].wall.toFixed(2)} s, ${b.label} ${pair[1].wall.toFixed(2)} s`,
    );
    if (index < warmup) continue;
    result.a.push(pair[0]);
    result.b.push(pair[1]);
    result.ratios.push(pair[0].wall / pair[1].wall);
  }
  return result;
}

/** Median, minimum and maximum of some figures. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The median (the mean of the middle two for an even count), min and max of `values`. */
export function spread(values: number[]): Spread {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1)! };
}

/** `median (min-max)` with `digits` decimals. */
export function formatSpread(s: Spread, digits = 2, scale = 1): string {
  const f = (x: number) => (x * scale).toFixed(digits);
  return `${f(s.median)} (${f(s.min)}-${f(s.max)})`;
}

/** A Markdown table. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
