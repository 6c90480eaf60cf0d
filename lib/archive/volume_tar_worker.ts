/**
 * `volumeTar` on two threads: a pack worker and this one. Packing a volume of tiny files is
 * mostly system calls (lstat, open, read, fstat, close: ~10 µs a file in Deno) and header
 * encoding, and this thread, which also reads the catalog, compresses, encrypts and records the
 * content hashes, is idle most of the time it waits for them. So the volume's records are cut
 * into runs of consecutive records (~1 MiB of TAR each); the worker packs the runs it is handed,
 * a few ahead, and this thread packs the next free run itself whenever the stream waits for the
 * worker. The runs' bytes go out in record order, so the stream is `volumeTar`'s, byte for byte.
 * Hardlinks are packed by the worker only, once the first names this thread packed before them
 * are passed on (see `RunPacker`): a worker's run holding one may wait for this thread's
 * unfinished run before it, which this thread finishes in its turn.
 *
 * The catalog stays on this thread: its records are read here a run at a time, and the worker's
 * findings (hashes, outcomes, totals) come back with each batch.
 */
import { appendHashes, type HashColumns } from "./pack_messages.ts";
import { columnBuffers, type FileColumns, fileColumns } from "./file_columns.ts";
import {
  HASH_BATCH,
  type PackedFileHash,
  type PackedFileUpdate,
  type PackedLink,
  type PackRecord,
  RunPacker,
  volumeHead,
  type VolumeRecords,
  type VolumeTar,
} from "./volume_tar.ts";
import { TAR_END_OF_ARCHIVE } from "./tar_header.ts";
import { tarEntryEstimate } from "./volume_packer.ts";
import { type PostedError, revivedError } from "./worker_errors.ts";

/** Most records in a run. */
export const RUN_RECORDS = 1024;

/** Most TAR bytes a run is expected to make (headers and padded content, as scanned). */
const RUN_BYTES = 1 << 20;

/**
 * A file larger than this is never packed by this thread: its run's bytes may wait here for
 * their turn, and a large file's would be held whole.
 */
const HERE_MAX_FILE_BYTES = 256 * 1024;

/**
 * Runs handed to the worker ahead of its packing. A worker takes in messages only when it waits,
 * so it is sent runs ahead: it then waits only once every few runs, and not long.
 */
const RUNS_AHEAD = 3;

/** Runs this thread may have packed ahead of the stream, waiting for their turn. */
const HERE_AHEAD = 2;

/** Most bytes of a run this thread packs ahead of the run's turn. */
const HERE_RUN_BYTES = 2 << 20;

/** TAR batches the worker may send ahead of the stream's reader. */
const BATCHES_AHEAD = 4;

/** A message to the pack worker. */
export type ToPackWorker =
  | { kind: "start"; credit: number }
  | { kind: "run"; index: number; records: FileColumns; hereDoneBelow: number }
  | { kind: "links"; links: PackedLink[]; hereDoneBelow: number }
  | { kind: "credit"; batches: number };

/** What the worker found since its last message. */
interface Findings {
  hashes: HashColumns;
  updates: PackedFileUpdate[];
  /** The worker's totals so far. */
  totals: { entries: number; bytes: number };
}

/** A message from the pack worker. */
export type FromPackWorker =
  | { kind: "need" }
  | ({ kind: "batch"; run: number; bytes: Uint8Array } & Findings)
  | ({ kind: "run-end"; run: number } & Findings)
  | ({ kind: "error" } & PostedError);

/** A run of records and where its bytes are. */
interface Run {
  index: number;
  records: PackRecord[];
  /** Whether this thread may pack it: no file in it is large, as scanned, and no hardlink. */
  light: boolean;
  /** Packed by the worker (else by this thread). */
  onWorker?: boolean;
  /** Bytes packed and not yet sent down the stream, and their sum. */
  bytes: Uint8Array[];
  heldBytes: number;
  /** This thread's packing of the run, while it has not ended. */
  packing?: Generator<Uint8Array>;
  ended: boolean;
}

/** Pack workers started so far by this process, and those not yet stopped: for tests. */
let workersStarted = 0;
let workersRunning = 0;
/** Runs this thread packed (all time): for tests. */
let runsPackedHere = 0;

/** How many pack worker threads this process has started (all time). */
export function packWorkersStarted(): number {
  return workersStarted;
}

/** How many pack worker threads run now. */
export function packWorkersRunning(): number {
  return workersRunning;
}

/** How many runs of records the calling thread packed itself (all time). */
export function runsPackedOnThisThread(): number {
  return runsPackedHere;
}

/**
 * Streams the TAR data of a volume as `volumeTar` does, packed by a worker thread started for it
 * and by this one; the worker ends with the stream (or its cancellation). `records.files` must
 * be a sync iterable (the catalog's pages); `onHashes` runs on this thread.
 */
export function volumeTarOnTwoThreads(records: VolumeRecords): VolumeTar {
  const files = records.files;
  if (!(Symbol.iterator in files)) {
    throw new TypeError("volumeTarOnTwoThreads needs sync records");
  }
  const source = files[Symbol.iterator]();
  const updates: PackedFileUpdate[] = [];
  const hashes: PackedFileHash[] = [];
  const totals = { entries: 0, bytes: 0 };
  const workerTotals = { entries: 0, bytes: 0 };
  const here = new RunPacker(true);
  const runs = new Map<number, Run>();
  /** The next run to make from the records, and the next whose bytes go down the stream. */
  let made = 0;
  let next = 0;
  let sourceDone = false;
  /** Runs this thread packed (or is packing) that have not all gone down the stream. */
  let heldHere = 0;
  /** The run this thread has started and not finished packing, if any. */
  let packingHere: Run | undefined;
  /** A run cut here that this thread may not pack, for the worker's next request. */
  let forWorker: number | undefined;
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
  const send = (message: ToPackWorker, transfer: ArrayBuffer[] = []) =>
    worker?.postMessage(message, transfer);
  /**
   * Takes in the outcomes either thread found, brings the totals up to date and hands on the
   * hashes gathered (in `hashes`) in batches.
   */
  const gather = (found: PackedFileUpdate[]) => {
    for (const update of found) updates.push(update);
    const { entries, bytes } = here.results.totals;
    totals.entries = workerTotals.entries + entries;
    totals.bytes = workerTotals.bytes + bytes;
    while (records.onHashes && hashes.length >= HASH_BATCH) {
      records.onHashes(hashes.splice(0, HASH_BATCH));
    }
  };
  const takeFromWorker = (found: Findings) => {
    workerTotals.entries = found.totals.entries;
    workerTotals.bytes = found.totals.bytes;
    appendHashes(found.hashes, hashes);
    gather(found.updates);
  };

  /** Cuts the next run from the records; undefined once they are all cut. */
  const makeRun = (): number | undefined => {
    if (sourceDone) return undefined;
    const run: Run = {
      index: made,
      records: [],
      light: true,
      bytes: [],
      heldBytes: 0,
      ended: false,
    };
    let expected = 0;
    while (run.records.length < RUN_RECORDS && expected < RUN_BYTES) {
      const item = source.next();
      if (item.done) {
        sourceDone = true;
        break;
      }
      const record = item.value;
      run.records.push(record);
      expected += tarEntryEstimate(record.size, record.archivePath);
      if (
        record.type === "hardlink" || (record.type === "file" && record.size > HERE_MAX_FILE_BYTES)
      ) {
        run.light = false;
      }
    }
    if (run.records.length === 0) return undefined;
    runs.set(made, run);
    return made++;
  };
  /**
   * Every run below this index that this thread packs is packed: the worker may pack a hardlink
   * of a run up to it, knowing each first name this thread packed before.
   */
  const hereDoneBelow = () => packingHere?.index ?? made;
  /** Hands run `index` to the worker (the worker asked, or this thread may not pack it). */
  const handToWorker = (index: number) => {
    const run = runs.get(index)!;
    run.onWorker = true;
    const columns = fileColumns(run.records);
    run.records = [];
    send(
      { kind: "run", index, records: columns, hereDoneBelow: hereDoneBelow() },
      columnBuffers(columns),
    );
  };
  /** The worker asked for a run: the one this thread cut for it, or the next. */
  const handNextToWorker = () => {
    const index = forWorker ?? makeRun();
    forWorker = undefined;
    if (index !== undefined) handToWorker(index);
  };
  /** Packs more of `run` on this thread, until it has ended or holds `limit` bytes. */
  const packHere = (run: Run, limit: number) => {
    while (run.packing && run.heldBytes < limit) {
      const step = run.packing.next();
      if (step.done) {
        run.packing = undefined;
        run.ended = true;
        packingHere = undefined;
        send({ kind: "links", links: here.takeNewLinks(), hereDoneBelow: hereDoneBelow() });
        break;
      }
      run.bytes.push(step.value);
      run.heldBytes += step.value.length;
    }
    hashes.push(...here.results.hashes.splice(0));
    gather(here.results.updates.splice(0));
  };
  /**
   * Cuts the next run and packs it on this thread, as far as `HERE_RUN_BYTES` (the rest is packed
   * in its turn: a file that grew since the scan is never held whole); a run this thread may not
   * pack is kept for the worker's next request. None while this thread holds `HERE_AHEAD` runs,
   * or one is unfinished (they share one `RunPacker`), or a run waits for the worker.
   */
  const packNextHere = (): "packed" | "cut" | "none" => {
    if (packingHere || forWorker !== undefined || heldHere >= HERE_AHEAD) return "none";
    const index = makeRun();
    if (index === undefined) return "none";
    const run = runs.get(index)!;
    if (!run.light) {
      // It waits for the worker's next request: so the worker is never handed more than it asks.
      forWorker = index;
      return "cut";
    }
    run.packing = here.pack(run.records);
    run.records = [];
    packingHere = run;
    runsPackedHere++;
    heldHere++;
    packHere(run, HERE_RUN_BYTES);
    return "packed";
  };

  const onMessage = ({ data }: MessageEvent<FromPackWorker>) => {
    try {
      switch (data.kind) {
        case "need":
          handNextToWorker();
          return;
        case "batch":
          takeFromWorker(data);
          runs.get(data.run)!.bytes.push(data.bytes);
          break;
        case "run-end":
          takeFromWorker(data);
          runs.get(data.run)!.ended = true;
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

  /** The volume's head (in-memory entries, the folders above its first file), once. */
  let head: Uint8Array[] | undefined;
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
      send({ kind: "start", credit: BATCHES_AHEAD });
      try {
        for (let i = 0; i < RUNS_AHEAD; i++) handNextToWorker();
        const ancestors = made > 0 ? [...records.ancestors] : [];
        head = [...volumeHead(records.preamble ?? [], ancestors)];
      } catch (error) {
        // Reading the catalog failed: the stream fails with it on its first read.
        failure = error instanceof Error ? error : new Error(String(error));
        stop();
      }
    },
    async pull(controller) {
      try {
        await pullInto(controller);
      } catch (error) {
        // Reading the catalog or packing here failed: the worker and any open file go with it.
        stop();
        packingHere?.packing?.return(undefined);
        throw error;
      }
    },
    cancel() {
      stop();
      // A large file this thread was packing is closed.
      packingHere?.packing?.return(undefined);
    },
  }, { highWaterMark: 0 });

  /** Puts the next bytes in order into `controller` (or closes it after the last). */
  async function pullInto(controller: ReadableStreamDefaultController<Uint8Array>) {
    for (;;) {
      if (failure !== undefined) throw failure;
      const first = head?.shift();
      if (first) return controller.enqueue(first);
      const run = runs.get(next);
      if (!run) {
        // Every run cut has gone out: cut the next one (and pack it here), or end.
        if (packNextHere() !== "none") continue;
        if (!sourceDone) throw new Error("packing lost its place in the volume's records");
        stop();
        controller.enqueue(TAR_END_OF_ARCHIVE.slice());
        return controller.close();
      }
      const bytes = run.bytes.shift();
      if (bytes) {
        run.heldBytes -= bytes.length;
        if (run.onWorker) send({ kind: "credit", batches: 1 });
        return controller.enqueue(bytes);
      }
      if (run.ended) {
        runs.delete(next++);
        if (!run.onWorker) heldHere--;
        continue;
      }
      if (run.packing) {
        // This thread's run, in its turn: packed on a batch at a time.
        packHere(run, 1);
        continue;
      }
      // The worker's run is not ready: pack one here meanwhile, or wait for the worker.
      if (packNextHere() === "packed") continue;
      await new Promise<void>((resolve) => waiting = resolve);
    }
  }
  return { stream, updates, hashes, totals };
}
