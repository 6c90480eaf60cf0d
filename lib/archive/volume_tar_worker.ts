/**
 * `volumeTar` on a worker thread. Packing a volume of tiny files is mostly system calls (lstat,
 * open, read, fstat, close: ~5 µs a file) and header encoding, all on the thread that also reads
 * the catalog, records the content hashes and encrypts: with the packing on a worker, the two
 * run side by side. The catalog stays on this thread: its records are read here a page at a time,
 * when the worker asks for them, and the worker's findings (hashes, outcomes, totals) come back
 * with each TAR batch. The result is the same `VolumeTar`, byte for byte.
 */
import {
  appendHashes,
  type HashColumns,
  type RecordColumns,
  recordColumns,
} from "./pack_messages.ts";
import {
  HASH_BATCH,
  type MemoryEntry,
  type PackedFileHash,
  type PackedFileUpdate,
  type PackRecord,
  type VolumeRecords,
  type VolumeTar,
} from "./volume_tar.ts";
import { type PostedError, revivedError } from "./worker_errors.ts";

/** Records posted to the worker at a time. */
export const RECORD_PAGE = 2048;

/**
 * Pages of records posted ahead of the worker's packing. A worker takes in messages only when it
 * waits, so it is sent pages ahead: it then waits only once every few pages, and not long.
 */
const PAGES_AHEAD = 3;

/** TAR batches the worker may send ahead of the stream's reader. */
const BATCHES_AHEAD = 4;

/** A message to the pack worker. */
export type ToPackWorker =
  | { kind: "start"; preamble: MemoryEntry[]; ancestors: PackRecord[]; credit: number }
  | { kind: "records"; records: RecordColumns; last: boolean }
  | { kind: "credit"; batches: number };

/** What the worker found since its last message. */
interface Findings {
  hashes: HashColumns;
  updates: PackedFileUpdate[];
  totals: { entries: number; bytes: number };
}

/** A message from the pack worker. */
export type FromPackWorker =
  | { kind: "need" }
  | ({ kind: "batch"; bytes: Uint8Array } & Findings)
  | ({ kind: "end" } & Findings)
  | ({ kind: "error" } & PostedError);

/** Pack workers started so far by this process, and those not yet stopped: for tests. */
let workersStarted = 0;
let workersRunning = 0;

/** How many pack worker threads this process has started (all time). */
export function packWorkersStarted(): number {
  return workersStarted;
}

/** How many pack worker threads run now. */
export function packWorkersRunning(): number {
  return workersRunning;
}

/**
 * Streams the TAR data of a volume as `volumeTar` does, packed on a worker thread started for
 * it; the worker ends with the stream (or its cancellation). `records.files` must be a sync
 * iterable (the catalog's pages); `onHashes` runs on this thread.
 */
export function volumeTarOnWorker(records: VolumeRecords): VolumeTar {
  const files = records.files;
  if (!(Symbol.iterator in files)) throw new TypeError("volumeTarOnWorker needs sync records");
  const source = files[Symbol.iterator]();
  const updates: PackedFileUpdate[] = [];
  const hashes: PackedFileHash[] = [];
  const totals = { entries: 0, bytes: 0 };
  const batches: Uint8Array[] = [];
  let ended = false;
  let failure: Error | undefined;
  let waiting: (() => void) | undefined;
  let worker: Worker | undefined;

  const stop = () => {
    if (!worker) return;
    worker.terminate();
    worker = undefined;
    workersRunning--;
  };
  const wakeUp = () => {
    const resolve = waiting;
    waiting = undefined;
    resolve?.();
  };
  const take = (found: Findings) => {
    for (const update of found.updates) updates.push(update);
    appendHashes(found.hashes, hashes);
    totals.entries = found.totals.entries;
    totals.bytes = found.totals.bytes;
    while (records.onHashes && hashes.length >= HASH_BATCH) {
      records.onHashes(hashes.splice(0, HASH_BATCH));
    }
  };
  let recordsLeft = true;
  /** Posts the next page of records, if any is left (the last one is marked). */
  const sendPage = () => {
    if (!recordsLeft) return;
    const page: PackRecord[] = [];
    while (page.length < RECORD_PAGE) {
      const next = source.next();
      if (next.done) break;
      page.push(next.value);
    }
    recordsLeft = page.length === RECORD_PAGE;
    const records = recordColumns(page);
    worker?.postMessage({ kind: "records", records, last: !recordsLeft } satisfies ToPackWorker, [
      records.numbers.buffer,
      records.types.buffer,
    ]);
  };
  const onMessage = ({ data }: MessageEvent<FromPackWorker>) => {
    try {
      switch (data.kind) {
        case "need":
          sendPage();
          return;
        case "batch":
          take(data);
          batches.push(data.bytes);
          break;
        case "end":
          take(data);
          ended = true;
          stop();
          break;
        case "error":
          failure = revivedError(data);
          stop();
          break;
      }
    } catch (error) {
      // Reading the catalog or recording hashes failed: the stream fails with it.
      failure = error instanceof Error ? error : new Error(String(error));
      stop();
    }
    wakeUp();
  };
  const send = (message: ToPackWorker) => worker?.postMessage(message);

  const stream = new ReadableStream<Uint8Array>({
    start() {
      worker = new Worker(new URL("./pack_worker.ts", import.meta.url).href, { type: "module" });
      workersStarted++;
      workersRunning++;
      worker.onmessage = onMessage;
      worker.onerror = (event) => {
        event.preventDefault();
        failure = new Error(`packing failed: ${event.message}`);
        stop();
        wakeUp();
      };
      send({
        kind: "start",
        preamble: records.preamble ?? [],
        ancestors: [...records.ancestors],
        credit: BATCHES_AHEAD,
      });
      try {
        for (let i = 0; i < PAGES_AHEAD; i++) sendPage();
      } catch (error) {
        // Reading the catalog failed: the stream fails with it on its first read.
        failure = error instanceof Error ? error : new Error(String(error));
        stop();
      }
    },
    async pull(controller) {
      while (batches.length === 0 && !ended && failure === undefined) {
        await new Promise<void>((resolve) => waiting = resolve);
      }
      if (failure !== undefined) throw failure;
      const batch = batches.shift();
      if (batch) {
        controller.enqueue(batch);
        send({ kind: "credit", batches: 1 });
      } else {
        controller.close();
      }
    },
    cancel() {
      stop();
    },
  }, { highWaterMark: 0 });
  return { stream, updates, hashes, totals };
}
