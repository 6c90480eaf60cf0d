/** Counters of a restore's fetch step, and the one line that shows them, fitted to a width. */
import { formatBytes } from "../archive/units.ts";
import { fit, transferLine } from "../archive/progress_line.ts";

/** Counters of a restore run; the fetch step writes them, a display reads them. */
export class RestoreProgress {
  /** Volumes to fetch in this run, and their bytes (the planned download). */
  volumesTotal = 0;
  bytesTotal = 0;
  /** Bytes of those volumes now on disk (downloads continued from an earlier run included). */
  downloadedBytes = 0;
  /** Volumes decrypted and extracted, and the bytes of the entries they wrote. */
  volumesDone = 0;
  extractedBytes = 0;
  /** When fetching began; undefined before (thaw requests, questions). */
  fetchStartedAt: number | undefined = undefined;
  /** Called when fetching begins (a display may start then, after any question). */
  onFetchStart: () => void = () => {};

  /** Marks the start of the fetch step over volumes of `bytes` in all. */
  fetching(volumes: number, bytes: number, now = Date.now()): void {
    this.volumesTotal = volumes;
    this.bytesTotal = bytes;
    this.fetchStartedAt = now;
    this.onFetchStart();
  }
}

/**
 * Renders a `RestoreProgress` in at most `width` characters: a bar and percentage of the bytes
 * downloaded, the download rate, the time left of the download, the volumes extracted and the
 * bytes they wrote. The least useful parts are dropped first when the line does not fit.
 */
export function renderRestoreProgress(
  p: RestoreProgress,
  width?: number,
  now = Date.now(),
): string {
  if (p.fetchStartedAt === undefined) return fit(["preparing the restore"], width ?? Infinity);
  const elapsed = Math.max((now - p.fetchStartedAt) / 1000, 0);
  return transferLine(
    { done: p.downloadedBytes, total: p.bytesTotal, elapsed },
    "download",
    [
      `volumes ${p.volumesDone}/${p.volumesTotal} extracted`,
      `written ${formatBytes(p.extractedBytes)}`,
    ],
    width,
  );
}
