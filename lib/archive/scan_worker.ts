/**
 * Worker side of `scanInWorker` (scan_thread.ts): runs `scanSources` and posts what it finds to
 * the main thread, which records it. The scan's file system calls and the catalog's inserts then
 * run on two cores instead of one.
 *
 * Memory stays bounded: after each batch the worker waits until the main thread is at most
 * `SCAN_BATCHES_AHEAD` batches behind, counting through a shared pair of integers (batches
 * posted, batches taken), so a slow catalog never lets listings pile up in the message queue.
 */
import { SCAN_BATCHES_AHEAD, type ScanMessage, type ScanRequest } from "./scan_thread.ts";
import { scanSources } from "./scan.ts";
import { postedError } from "./worker_errors.ts";
import { columnBuffers, fileColumns } from "./file_columns.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<ScanRequest>) => void;
  postMessage: (message: ScanMessage, transfer?: ArrayBuffer[]) => void;
};

/** Progress goes to the main thread at most this often. */
const PROGRESS_MS = 100;

scope.onmessage = async ({ data: request }) => {
  const counts = new Int32Array(request.counts);
  let posted = 0;
  let lastProgress = 0;
  try {
    const totals = await scanSources({
      ...request.options,
      onProgress: (totals) => {
        const now = Date.now();
        if (now - lastProgress < PROGRESS_MS) return;
        lastProgress = now;
        scope.postMessage({ kind: "progress", totals });
      },
    }, {
      addFiles: (files) => {
        // As columns: a third of the cost of cloning each file's object, on both threads.
        const columns = fileColumns(files);
        scope.postMessage({ kind: "files", files: columns }, columnBuffers(columns));
        posted++;
        Atomics.store(counts, 0, posted);
        for (;;) {
          const taken = Atomics.load(counts, 1);
          if (posted - taken <= SCAN_BATCHES_AHEAD) break;
          Atomics.wait(counts, 1, taken);
        }
      },
      addProblem: (problem) => scope.postMessage({ kind: "problem", problem }),
    });
    scope.postMessage({ kind: "done", totals });
  } catch (error) {
    scope.postMessage({ kind: "error", ...postedError(error) });
  }
};
