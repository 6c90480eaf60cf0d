/**
 * Reads `deno test` output (without colours) and sums it up for `testing/windows/run.ts`: passed,
 * failed and ignored tests, the ignored ones grouped by the reason their names carry
 * (`[skipped here: REASON]`, see testing/platform.ts).
 */
import { SKIP_MARK } from "../platform.ts";

/** What one `deno test` run reported. */
export interface TestOutput {
  /** Top-level tests that passed. */
  passed: number;
  /** Names of the tests (and steps, indented) that failed. */
  failed: string[];
  /** Ignored tests and steps: name without the mark, and the reason (or "no reason given"). */
  ignored: { name: string; reason: string }[];
  /** True when the run printed its final `ok | ...` or `FAILED | ...` line. */
  complete: boolean;
}

/** One chunk of a Windows run: a path given to `wine-deno test`, and what it reported. */
export interface ChunkResult extends TestOutput {
  path: string;
  code: number;
  timedOut: boolean;
  seconds: number;
}

const RESULT_LINE = /^(\s*)(.*) \.\.\. (ok|FAILED|ignored)(?: \(.*\))?$/;
/** A test file that failed before or outside its tests (it is named twice: once in ERRORS). */
const UNCAUGHT_LINE = /^(\S+) \(uncaught error\)$/;
const SUMMARY_LINE = /^(ok|FAILED) \| (\d+) passed/;
const NO_REASON = "no reason given";

/**
 * Two notes of Deno's land inside a test's result line: the `Check PATH` of a worker module it
 * type-checks when a test first starts it (`name ...Check lib/x.ts` then ` ok (1s)`), and the
 * warning about a test running over a minute (`name ...'name' has been running for over (1m0s)`
 * then ` ok (1m9s)`), or both, one after the other. Joined back here.
 */
const NOTE_INSIDE_RESULT =
  / \.\.\.(?:(?:Check [^\r\n]*|'[^\r\n]*' has been running for over \([^)\r\n]*\))\r?\n)+ /g;

/** Parses the output of `deno test` run with NO_COLOR. */
export function parseTestOutput(output: string): TestOutput {
  const result: TestOutput = { passed: 0, failed: [], ignored: [], complete: false };
  for (const line of output.replace(NOTE_INSIDE_RESULT, " ... ").split(/\r?\n/)) {
    if (SUMMARY_LINE.test(line)) {
      result.complete = true;
      continue;
    }
    const uncaught = UNCAUGHT_LINE.exec(line);
    if (uncaught) {
      const name = `${uncaught[1]} (uncaught error)`;
      if (!result.failed.includes(name)) result.failed.push(name);
      continue;
    }
    const match = RESULT_LINE.exec(line);
    if (!match) continue;
    const [, indent, name, outcome] = match;
    const step = indent.length > 0;
    if (outcome === "ok") {
      if (!step) result.passed++;
    } else if (outcome === "FAILED") {
      result.failed.push(step ? `  ${name}` : name);
    } else {
      result.ignored.push(splitReason(name));
    }
  }
  return result;
}

/** A test name with its `[skipped here: REASON]` mark, split in two. */
export function splitReason(name: string): { name: string; reason: string } {
  const at = name.lastIndexOf(` [${SKIP_MARK}`);
  if (at < 0 || !name.endsWith("]")) return { name, reason: NO_REASON };
  return { name: name.slice(0, at), reason: name.slice(at + SKIP_MARK.length + 2, -1) };
}

/** The final report: totals, ignored tests grouped by reason, failures by chunk. */
export function formatSummary(
  results: ChunkResult[],
  seconds: number,
  motoServers: number,
): string {
  const passed = results.reduce((sum, r) => sum + r.passed, 0);
  const failed = results.flatMap((r) => r.failed.map((name) => `${r.path}: ${name}`));
  const broken = results.filter((r) => !r.complete || (r.code !== 0 && r.failed.length === 0));
  const byReason = new Map<string, string[]>();
  for (const r of results) {
    for (const { name, reason } of r.ignored) {
      byReason.set(reason, [...byReason.get(reason) ?? [], `${r.path}: ${name}`]);
    }
  }
  const ignored = [...byReason.values()].reduce((sum, names) => sum + names.length, 0);
  const lines = [
    `Windows (wine-deno): ${passed} passed, ${failed.length} failed, ${ignored} ignored, ` +
    `${results.length} runs in ${formatSeconds(seconds)}, ${motoServers} moto servers`,
  ];
  if (ignored > 0) {
    lines.push("", "Ignored, by reason:");
    const groups = [...byReason].sort((a, b) => b[1].length - a[1].length);
    for (const [reason, names] of groups) {
      lines.push(`  ${names.length} x ${reason}`);
      for (const name of names) lines.push(`      ${name}`);
    }
  }
  if (failed.length > 0) {
    lines.push("", "Failed:");
    for (const name of failed) lines.push(`  ${name}`);
  }
  for (const r of broken) {
    lines.push(
      "",
      `${r.path}: exit ${r.code}${r.timedOut ? " (timed out)" : ""}${
        r.complete ? "" : ", no final summary line"
      }: see its output file`,
    );
  }
  return lines.join("\n");
}

function formatSeconds(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${seconds.toFixed(1)} s`;
}
