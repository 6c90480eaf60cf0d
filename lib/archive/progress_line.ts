/** A progress line fitted to a width: a bar, a percentage and as many parts as there is room for. */
import { formatBytes, formatDuration } from "./units.ts";

/** The narrowest bar worth drawing, and the widest. */
const MIN_BAR = 10;
const MAX_BAR = 30;

/**
 * `[#####-----] 42% part, part, ...` in at most `width` characters: parts are dropped from the
 * end until the line fits with at least a small bar; the bar then takes the room left (up to a
 * limit). Without room for a bar, the parts alone are fitted.
 */
export function fitWithBar(
  fraction: number,
  percent: number | string,
  parts: string[],
  width: number,
): string {
  for (let count = parts.length; count >= 1; count--) {
    const text = `${percent} ${parts.slice(0, count).join(", ")}`;
    const room = width - text.length - 3; // "[", "]" and a space
    if (room >= MIN_BAR) return `${bar(fraction, Math.min(room, MAX_BAR))} ${text}`;
  }
  return fit([`${percent}`, ...parts], width);
}

/** Where a transfer of known size stands: bytes done of the total, since when. */
export interface TransferState {
  done: number;
  total: number;
  /** Seconds since the transfer began. */
  elapsed: number;
}

/**
 * A transfer's bar line: `[###---] 25% DONE/TOTAL, left T, VERB RATE/s, ...details, elapsed E`,
 * fitted to `width` (details are dropped first, from the end).
 */
export function transferLine(
  state: TransferState,
  verb: string,
  details: string[],
  width = Number.MAX_SAFE_INTEGER,
): string {
  const { done, total, elapsed } = state;
  const fraction = total > 0 ? Math.min(done / total, 1) : 1;
  const rate = elapsed > 0 ? done / elapsed : 0;
  const bytesLeft = Math.max(total - done, 0);
  const left = bytesLeft === 0 ? 0 : rate > 0 ? bytesLeft / rate : undefined;
  const parts = [
    `${formatBytes(done)}/${formatBytes(total)}`,
    `left ${left === undefined ? "-" : formatDuration(left)}`,
    `${verb} ${formatBytes(rate)}/s`,
    ...details,
    `elapsed ${formatDuration(elapsed)}`,
  ];
  return fitWithBar(fraction, `${Math.floor(fraction * 100)}%`, parts, width);
}

/** Joins as many parts as fit in `width` (cutting the first one if even it does not fit). */
export function fit(parts: string[], width: number): string {
  let line = "";
  for (const part of parts) {
    const next = line === "" ? part : `${line}, ${part}`;
    if (next.length > width) break;
    line = next;
  }
  if (line === "" && parts.length > 0) line = parts[0].slice(0, Math.max(width, 0));
  return line;
}

/** A bar `width` characters wide, brackets included, filled to `fraction`. */
function bar(fraction: number, width: number): string {
  const inner = Math.max(width - 2, 1);
  const filled = Math.round(Math.min(Math.max(fraction, 0), 1) * inner);
  return `[${"#".repeat(filled)}${"-".repeat(inner - filled)}]`;
}
