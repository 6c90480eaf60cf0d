/**
 * `scanSources` on a worker thread: the folders are walked there (scan_worker.ts) while this
 * thread records the batches it sends, so a backup's scan and its catalog inserts use two cores.
 * The sink sees the same batches, problems and totals, in the same order, as with
 * `scanSources` itself; progress comes at most every 100 ms.
 */
import type { ProblemRecord, ScanOptions, ScanSink, ScanTotals } from "./scan.ts";
import { type FileColumns, scannedFilesOf } from "./file_columns.ts";
import { type PostedError, revivedError } from "./worker_errors.ts";

/** What the worker is asked to scan: the options, less what cannot cross threads. */
export interface ScanRequest {
  options: Omit<ScanOptions, "onProgress" | "signal">;
  /** Two Int32 counters: batches posted by the worker, batches taken by the sink. */
  counts: SharedArrayBuffer;
}

/** What the worker sends back, in order. */
export type ScanMessage =
  | { kind: "files"; files: FileColumns }
  | { kind: "problem"; problem: ProblemRecord }
  | { kind: "progress"; totals: ScanTotals }
  | { kind: "done"; totals: ScanTotals }
  | ({ kind: "error" } & PostedError);

/** Batches the worker may post before the sink has taken them (each up to a few MiB). */
export const SCAN_BATCHES_AHEAD = 2;

/**
 * Scans like `scanSources`, on a worker thread. Rejects with the scan's error (an error of the
 * same name and message), with what the sink throws, or with the signal's reason when aborted;
 * the worker is stopped in every case.
 */
export function scanInWorker(options: ScanOptions, sink: ScanSink): Promise<ScanTotals> {
  const { signal, onProgress, ...portable } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const counts = new SharedArrayBuffer(8);
  const taken = new Int32Array(counts);
  const worker = new Worker(new URL("./scan_worker.ts", import.meta.url).href, {
    type: "module",
  });
  return new Promise<ScanTotals>((resolve, reject) => {
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      worker.terminate();
      settle();
    };
    const onAbort = () => finish(() => reject(signal!.reason));
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.onerror = (event) => {
      event.preventDefault();
      finish(() => reject(new Error(`the scan stopped: ${event.message}`)));
    };
    worker.onmessage = ({ data: message }: MessageEvent<ScanMessage>) => {
      if (settled) return; // a message already queued when the scan was stopped
      try {
        switch (message.kind) {
          case "files":
            sink.addFiles(scannedFilesOf(message.files));
            Atomics.add(taken, 1, 1);
            Atomics.notify(taken, 1);
            break;
          case "problem":
            sink.addProblem(message.problem);
            break;
          case "progress":
            onProgress?.(message.totals);
            break;
          case "done":
            onProgress?.(message.totals);
            finish(() => resolve(message.totals));
            break;
          case "error":
            finish(() => reject(revivedError(message)));
            break;
        }
      } catch (error) {
        finish(() => reject(error));
      }
    };
    const request: ScanRequest = { options: portable, counts };
    worker.postMessage(request);
  });
}
