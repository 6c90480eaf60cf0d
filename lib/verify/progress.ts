/** Counters of `verify --local` and the one line that shows them, fitted to a width. */
import { transferLine } from "../archive/progress_line.ts";

/** Counters of a local check; the check writes them, a display reads them. */
export class VerifyProgress {
  /** Volume files to read, and their bytes. */
  volumesTotal = 0;
  bytesTotal = 0;
  /** Bytes read (hashed, and decoded where there is a key) and volumes finished. */
  bytesRead = 0;
  volumesChecked = 0;
  readonly startedAt: number;

  constructor(now = Date.now()) {
    this.startedAt = now;
  }
}

/**
 * Renders a `VerifyProgress` in at most `width` characters: a bar and percentage of the bytes
 * read, the read rate, the time left, and the volumes checked; the least useful parts are dropped
 * first when the line does not fit.
 */
export function renderVerifyProgress(
  p: VerifyProgress,
  width?: number,
  now = Date.now(),
): string {
  const elapsed = Math.max((now - p.startedAt) / 1000, 0);
  return transferLine(
    { done: p.bytesRead, total: p.bytesTotal, elapsed },
    "read",
    [`volumes ${p.volumesChecked}/${p.volumesTotal} checked`],
    width,
  );
}
