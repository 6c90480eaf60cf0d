/** Counters of a backup run, and the one line that shows them, fitted to a width. */
import { formatBytes, formatDuration } from "../archive/units.ts";
import { fit, fitWithBar } from "../archive/progress_line.ts";

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
  /** Compressed bytes of the volumes built so far (by this run or an earlier one). */
  builtBytes = 0;
  /** Bytes stored remotely, counted part by part as parts finish (earlier runs' included). */
  uploadedBytes = 0;
  /** Bytes an earlier run had already stored: not part of this run's upload rate. */
  uploadedBefore = 0;
  /** When this run's first upload began; the upload rate is measured from there. */
  uploadStartedAt: number | undefined = undefined;
  readonly startedAt = Date.now();

  /** Marks the start of an upload (only the first one counts). */
  uploadStarting(now = Date.now()): void {
    this.uploadStartedAt ??= now;
  }
}

/** Bytes per second this run has uploaded since its first upload began; 0 before. */
export function uploadRate(p: BackupProgress, now = Date.now()): number {
  if (p.uploadStartedAt === undefined) return 0;
  const seconds = (now - p.uploadStartedAt) / 1000;
  return seconds > 0 ? Math.max(p.uploadedBytes - p.uploadedBefore, 0) / seconds : 0;
}

/** Width used when none is given (log lines): every part is shown. */
const UNLIMITED = Number.MAX_SAFE_INTEGER;

/**
 * Renders a `BackupProgress` as one line of at most `width` characters: a bar and percentage of
 * the bytes packed, the packing and upload rates, and a time left that covers the upload too.
 * The least useful parts are dropped first when the line does not fit.
 */
export function renderProgress(p: BackupProgress, width = UNLIMITED, now = Date.now()): string {
  const elapsed = Math.max((now - p.startedAt) / 1000, 0);
  if (p.phase === "scanning") {
    return fit([`scanning: ${p.filesTotal} entries, ${formatBytes(p.bytesTotal)}`], width);
  }
  const fraction = p.bytesTotal > 0 ? Math.min(p.bytesDone / p.bytesTotal, 1) : 1;
  const percent = `${Math.floor(fraction * 100)}%`;
  const packRate = elapsed > 0 ? p.bytesDone / elapsed : 0;
  const upRate = uploadRate(p, now);
  const left = backupTimeLeft(p, packRate, upRate);
  // In order of importance; `fit` drops from the end.
  const parts = [
    `${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}`,
    `left ${left === undefined ? "-" : formatDuration(left)}`,
    `pack ${formatBytes(packRate)}/s`,
    `upload ${formatBytes(upRate)}/s`,
    `volumes ${p.volumesUploaded}/${p.volumesTotal} up`,
    `files ${p.filesDone}/${p.filesTotal}`,
    `elapsed ${formatDuration(elapsed)}`,
  ];
  return fitWithBar(fraction, percent, parts, width);
}

/**
 * Seconds left for the whole run: packing what is left at the packing rate, and uploading what
 * is left at the upload rate; the longer of the two, as they overlap. The bytes to upload are
 * the volumes' expected total (the average built volume times the number of volumes, or the
 * packed total before any is built) less the bytes already stored, parts of unfinished volumes
 * included. `undefined` when no rate is known yet; 0 when done.
 */
export function backupTimeLeft(
  p: BackupProgress,
  packRate: number,
  uploadRate: number,
): number | undefined {
  if (p.phase === "done") return 0;
  const packBytesLeft = Math.max(p.bytesTotal - p.bytesDone, 0);
  const packLeft = packBytesLeft === 0 ? 0 : packRate > 0 ? packBytesLeft / packRate : undefined;
  if (p.volumesTotal - p.volumesUploaded <= 0) return packLeft;
  const expectedUpload = p.volumesBuilt > 0
    ? (p.builtBytes / p.volumesBuilt) * p.volumesTotal
    : p.bytesTotal;
  const uploadBytesLeft = Math.max(expectedUpload - p.uploadedBytes, 0);
  const uploadLeft = uploadRate > 0 ? uploadBytesLeft / uploadRate : undefined;
  if (packLeft === undefined || uploadLeft === undefined) return uploadLeft;
  return Math.max(packLeft, uploadLeft);
}
