/**
 * Progress of a long run: counters the backup updates, and a display that shows them as one
 * refreshing line on a terminal or as a plain line every so often otherwise (cron, logs).
 */
import { formatBytes, formatDuration } from "../archive/units.ts";
import type { Logger } from "./log.ts";

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

/** Shows progress until stopped: a live line on a terminal, periodic log lines otherwise. */
export class ProgressDisplay {
  #timer: ReturnType<typeof setInterval>;
  #onTerminal: boolean;
  #lineShown = false;
  #encoder = new TextEncoder();

  constructor(
    private readonly progress: BackupProgress,
    private readonly log: Logger,
    options: { terminal?: boolean; intervalMs?: number } = {},
  ) {
    this.#onTerminal = options.terminal ?? Deno.stderr.isTerminal();
    const envInterval = Number(Deno.env.get("GLACIER_PROGRESS_INTERVAL_MS"));
    const interval = options.intervalMs ??
      (this.#onTerminal
        ? 250
        : Number.isFinite(envInterval) && envInterval > 0
        ? envInterval
        : 30_000);
    this.#timer = setInterval(() => this.#tick(), interval);
    Deno.unrefTimer(this.#timer);
    log.beforeTerminalWrite = () => this.#clearLine();
  }

  #tick(): void {
    const line = renderProgress(this.progress);
    if (this.#onTerminal) {
      Deno.stderr.writeSync(this.#encoder.encode(`\r\x1b[K${line}`));
      this.#lineShown = true;
    } else {
      this.log.info(line);
    }
  }

  #clearLine(): void {
    if (!this.#lineShown) return;
    Deno.stderr.writeSync(this.#encoder.encode("\r\x1b[K"));
    this.#lineShown = false;
  }

  /** Stops the display and clears its line. */
  stop(): void {
    clearInterval(this.#timer);
    this.#clearLine();
    this.log.beforeTerminalWrite = () => {};
  }
}
