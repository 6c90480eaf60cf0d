/** A `Reporter` for flows driven directly in tests: it keeps the lines instead of printing them. */
import type { Reporter, ReportLevel } from "../lib/archive/report.ts";

/** A reporter that keeps every screen line, as `level: message` (log-file-only lines are dropped). */
export function recordingReporter(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: ReportLevel) => (message: string) => lines.push(`${level}: ${message}`);
  return { lines, info: add("info"), warn: add("warn"), error: add("error"), toFile: () => {} };
}
