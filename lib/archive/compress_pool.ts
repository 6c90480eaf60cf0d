/**
 * Parallel compression. Deno runs node:zlib on the calling thread, so one zstd stream would keep
 * the whole volume pipeline on one core. Instead the TAR stream is cut into segments that worker
 * threads compress independently, each into a complete zstd frame (or gzip member); the frames
 * are emitted in order. Concatenated frames are a valid zstd (gzip) stream: `zstd -d` and
 * `gzip -d` read them as one, as `zstd -T0` output is read. 2 MiB segments (zstd's window at
 * level 3) cost 0.06% in size against 4 MiB ones on the bench corpus and hold less memory.
 */

import { compressSegment } from "./compress_segment.ts";

/** A segment sent to a worker. */
export interface SegmentJob {
  id: number;
  kind: "zstd" | "gzip";
  level: number;
  input: Uint8Array;
}

/** A worker's answer: the compressed frame (or an error) and the segment buffer back. */
export interface SegmentResult {
  id: number;
  input: Uint8Array;
  output?: Uint8Array;
  error?: string;
  /** Milliseconds the worker spent compressing the segment. */
  busyMs?: number;
}

/** Bytes of TAR data compressed as one frame. */
export const SEGMENT_BYTES = 2 << 20;

/** Compression levels: zstd's and gzip's command-line defaults. */
const LEVELS = { zstd: 3, gzip: 6 } as const;

/** Compression worker threads started so far by this process (all pools): for tests. */
let workersStarted = 0;

/** How many compression worker threads this process has started (all pools, all time). */
export function compressWorkersStarted(): number {
  return workersStarted;
}

/**
 * The default number of workers: two, or one on a one-core machine. Each costs memory (the first
 * about 30 MiB, each further one 12-14 MiB: an isolate with its own heap and zstd context), and
 * past two the pack worker, which builds the TAR stream, and the main thread, which reads the
 * catalog and encrypts, are the bottleneck anyway.
 */
export function defaultCompressThreads(cores = navigator.hardwareConcurrency): number {
  return Math.max(1, Math.min(2, cores));
}

/** Where a compressing stream's segments are compressed: a `CompressorPool`, or this thread. */
export interface SegmentCompressor {
  /** Segments compressed at once (the stream keeps one more waiting). */
  readonly size: number;
  /** Compresses one segment; its buffer comes back with the frame. */
  compress(kind: "zstd" | "gzip", input: Uint8Array): Promise<SegmentResult>;
}

/**
 * Compresses segments on the calling thread, one at a time, with no worker (~25 MiB less): for
 * a TAR stream made on another thread slowly (a volume of many small files, packed on the pack
 * worker at the pace of their system calls), whose reader has the time to spare.
 */
export const compressOnThisThread: SegmentCompressor = {
  size: 1,
  compress(kind, input) {
    try {
      return Promise.resolve({ id: 0, input, output: compressSegment(kind, LEVELS[kind], input) });
    } catch (error) {
      return Promise.resolve({ id: 0, input, error: String(error) });
    }
  },
};

/**
 * A set of compression worker threads shared by every volume of a run. Workers are started
 * lazily, one at a time, and never more than `size`: the first for the first segment, each other
 * only when segments come faster than one worker compresses them (`#canStartAnother`). A run that
 * compresses nothing (every volume already built, or `--compression none`) starts none; a backup
 * of many small files, whose TAR stream comes slowly (the files' system calls), keeps to one. Once
 * started, workers serve every later segment until `close()` stops them; a later `compress`
 * starts anew (a volume lost during its upload is built again after the build loop has closed
 * the pool).
 */
export class CompressorPool implements SegmentCompressor {
  readonly #size: number;
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #waitingForWorker: ((worker: Worker | undefined) => void)[] = [];
  readonly #pending = new Map<number, (result: SegmentResult) => void>();
  #nextId = 0;
  /** When the last segment came, and the times between the last few (ms, newest last). */
  #lastArrival: number | undefined;
  readonly #gaps: number[] = [];
  /** The usual time a worker takes to compress a segment (a moving average), in ms. */
  #busyMs: number | undefined;

  /** A pool of at most `threads` workers (default `defaultCompressThreads()`); none start yet. */
  constructor(threads = defaultCompressThreads()) {
    this.#size = Math.max(1, threads);
  }

  /** The most worker threads this pool runs at once. */
  get size(): number {
    return this.#size;
  }

  /** Worker threads running now. */
  get running(): number {
    return this.#workers.length;
  }

  #start(): Worker {
    const worker = new Worker(new URL("./compress_worker.ts", import.meta.url).href, {
      type: "module",
    });
    workersStarted++;
    worker.onmessage = (event: MessageEvent<SegmentResult>) => {
      if (!this.#workers.includes(worker)) return; // an answer that raced close()
      if (event.data.busyMs !== undefined) {
        this.#busyMs = movingAverage(this.#busyMs, event.data.busyMs);
      }
      this.#release(worker);
      // Segments still waiting while they come faster than they are compressed: one more worker.
      if (this.#waitingForWorker.length > 0 && this.#canStartAnother()) {
        this.#waitingForWorker.shift()!(this.#start());
      }
      const resolve = this.#pending.get(event.data.id);
      this.#pending.delete(event.data.id);
      resolve?.(event.data);
    };
    this.#workers.push(worker);
    return worker;
  }

  #release(worker: Worker): void {
    const waiter = this.#waitingForWorker.shift();
    if (waiter) waiter(worker);
    else this.#idle.push(worker);
  }

  /** A free worker, or `undefined` if the pool is closed while waiting for one. */
  #acquire(): Promise<Worker | undefined> {
    const worker = this.#idle.pop();
    if (worker) return Promise.resolve(worker);
    if (this.#workers.length === 0 || this.#canStartAnother()) {
      return Promise.resolve(this.#start());
    }
    return new Promise((resolve) => this.#waitingForWorker.push(resolve));
  }

  /**
   * Whether another worker may start: the pool is not full and segments come faster than a
   * worker compresses them (known once a worker has answered). Otherwise a segment waits for the
   * busy worker, which will be free before the next one comes.
   */
  #canStartAnother(): boolean {
    if (this.#workers.length >= this.#size || this.#busyMs === undefined) return false;
    return this.#gaps.length === 0 || median(this.#gaps) < this.#busyMs;
  }

  /** Compresses one segment on a free worker; the input buffer is transferred and given back. */
  async compress(kind: "zstd" | "gzip", input: Uint8Array): Promise<SegmentResult> {
    const now = performance.now();
    if (this.#lastArrival !== undefined) {
      this.#gaps.push(now - this.#lastArrival);
      if (this.#gaps.length > ARRIVAL_GAPS) this.#gaps.shift();
    }
    this.#lastArrival = now;
    const worker = await this.#acquire();
    // Closed while waiting for a worker, or between getting it and running on.
    if (!worker || !this.#workers.includes(worker)) {
      return { id: -1, input, error: "compression stopped" };
    }
    const id = this.#nextId++;
    const result = new Promise<SegmentResult>((resolve) => this.#pending.set(id, resolve));
    const job: SegmentJob = { id, kind, level: LEVELS[kind], input };
    worker.postMessage(job, [input.buffer as ArrayBuffer]);
    return await result;
  }

  /** Stops the workers; segments in progress end with an error. */
  close(): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers = [];
    this.#idle = [];
    for (const waiter of this.#waitingForWorker.splice(0)) waiter(undefined);
    for (const resolve of this.#pending.values()) {
      resolve({ id: -1, input: new Uint8Array(0), error: "compression stopped" });
    }
    this.#pending.clear();
  }
}

/**
 * How many of the latest times between two segments tell how fast segments come (their median:
 * one long wait, a worker's start or a pause between volumes, does not hide a burst after it).
 */
const ARRIVAL_GAPS = 4;

/** The middle value of `values` (the mean of the two middle ones when their count is even). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `average` moved a third of the way towards `sample` (or `sample`, the first time). */
function movingAverage(average: number | undefined, sample: number): number {
  return average === undefined ? sample : average + (sample - average) / 3;
}

/** A compressing stream whose segments `pool` compresses: frames come out in input order. */
export function parallelCompressStream(
  pool: SegmentCompressor,
  kind: "zstd" | "gzip",
): TransformStream<Uint8Array, Uint8Array> {
  const spare: Uint8Array<ArrayBuffer>[] = [];
  let segment = new Uint8Array(new ArrayBuffer(SEGMENT_BYTES));
  let used = 0;
  const inFlight: Promise<SegmentResult>[] = [];

  const emitOldest = async (controller: TransformStreamDefaultController<Uint8Array>) => {
    const result = await inFlight.shift()!;
    if (result.error !== undefined) throw new Error(`${kind} compression failed: ${result.error}`);
    // A buffer of its own and of its size (`compressSegment`): passed on as it is.
    controller.enqueue(result.output!);
    spare.push(new Uint8Array(result.input.buffer as ArrayBuffer));
  };
  let dispatched = false;
  const dispatch = async (controller: TransformStreamDefaultController<Uint8Array>) => {
    dispatched = true;
    inFlight.push(pool.compress(kind, segment.subarray(0, used)));
    segment = spare.pop() ?? new Uint8Array(new ArrayBuffer(SEGMENT_BYTES));
    used = 0;
    // One segment per worker in flight, and one more waiting for the first worker free: with
    // only one per worker, a worker that finishes waits idle while the next segment is filled.
    if (inFlight.length > pool.size) await emitOldest(controller);
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(chunk.length - offset, SEGMENT_BYTES - used);
        segment.set(chunk.subarray(offset, offset + n), used);
        used += n;
        offset += n;
        if (used === SEGMENT_BYTES) await dispatch(controller);
      }
    },
    async flush(controller) {
      // Even an empty input becomes one (empty) frame: zero bytes are not a valid zstd file.
      if (used > 0 || !dispatched) await dispatch(controller);
      while (inFlight.length > 0) await emitOldest(controller);
    },
  });
}
