/** Counters of a backup run, and the one line that shows them. */
import { formatBytes, formatDuration } from "../archive/units.ts";

/** Counters of a backup run; the pipeline writes them, the display reads them. */
export class BackupProgress {
  phase: "scanning" | "packing" | "uploading" | "done" = "scanning";
  filesTotal = 0;
  bytesTotal = 0;
  filesDone = 0;
  bytesDone = 0;
  volumesTotal = 0;
  volumesBuilt = 0;
  volumesUploaded = 0;
  uploadedBytes = 0;
  readonly startedAt = Date.now();
}

/** Renders a `BackupProgress` as one line. */
export function renderProgress(p: BackupProgress, now = Date.now()): string {
  const elapsed = (now - p.startedAt) / 1000;
  if (p.phase === "scanning") {
    return `scanning: ${p.filesTotal} entries, ${formatBytes(p.bytesTotal)}`;
  }
  const rate = elapsed > 0 ? p.uploadedBytes / elapsed : 0;
  const packRate = elapsed > 0 ? p.bytesDone / elapsed : 0;
  const left = packRate > 0 ? (p.bytesTotal - p.bytesDone) / packRate : Infinity;
  return `files ${p.filesDone}/${p.filesTotal}, ${formatBytes(p.bytesDone)}/` +
    `${formatBytes(p.bytesTotal)}, volumes built ${p.volumesBuilt}/${p.volumesTotal} ` +
    `uploaded ${p.volumesUploaded}/${p.volumesTotal}, upload ${formatBytes(rate)}/s, ` +
    `elapsed ${formatDuration(elapsed)}, left ${
      p.bytesDone >= p.bytesTotal ? "-" : formatDuration(left)
    }`;
}
