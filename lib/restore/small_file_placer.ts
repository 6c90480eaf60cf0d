/**
 * Places small restored files on a worker thread (place_worker.ts) while the restore's own thread
 * reads the volume on: a restore of many small files is mostly the calls that create, write, time
 * and name each one, and on one thread those left the other core idle. The caller checks each
 * file's way and what is at its name (`RestoreWriter.checkFile`) first, as for a file it writes
 * itself; the worker then does what `RestoreWriter.fileSync` would do next, with the same
 * `PartPlacer`, so a file goes in the same way on either thread (place_batch.ts). Files go in
 * batches (their content copied into one buffer, transferred), a few in flight, so memory stays
 * bounded: when the worker has two to place, the restore's own thread places the next batch
 * itself rather than wait. Files into folders the run made are written in place, each batch's
 * named in the run's journal first (placing_journal.ts). Each file's outcome comes back to a
 * callback, in order within its batch. Whatever depends on earlier files being in place (a hard
 * link, the end of a volume) waits for `drain`.
 */
import { type PartMeta, PartPlacer, type Placement, type PlacerSettings } from "./part_placer.ts";
import type { JournalEntry, PlacingJournal } from "./placing_journal.ts";
import type { WriteOutcome } from "./safe_writer.ts";
import { type PostedError, revivedError } from "../archive/worker_errors.ts";
import {
  type BatchOutcome,
  BLOCKED,
  EXISTS,
  FRESH,
  JOB_FIELDS,
  packJob,
  placeBatch,
  type PlaceReply,
  type PlaceRequest,
  WRITTEN,
} from "./place_batch.ts";

/** Bytes of file content a batch holds at most (a file of up to this size fits in one). */
export const PLACE_BATCH_BYTES = 1 << 20;
/** Files a batch holds at most. */
export const PLACE_BATCH_FILES = 256;
/**
 * Batches the worker may have to place before the next is placed on the restore's own thread
 * instead (by default): two keep it busy while this thread reads on.
 */
const WORKER_QUEUE = 2;
/**
 * Batches sent and not yet answered, at most (each holds its buffer): the restore's own thread
 * reads answers only when it waits, and waits when there are more.
 */
const UNANSWERED_BATCHES = 3;

const WRITTEN_OUTCOME: WriteOutcome = { kind: "written" };
const EXISTS_OUTCOME: WriteOutcome = { kind: "exists" };

/** Called with a file's outcome, or the error that kept it out (an OS error, say). */
export type Placed = (outcome: WriteOutcome | Error) => void;

/** A batch sent to the worker, waiting for its answer. */
interface SentBatch {
  done: Placed[];
  /** Its journal file (`PlacingJournal.record`), if it names files to write in place. */
  named: number | undefined;
  answered: PromiseWithResolvers<void>;
}

/** How long `finish` waits for the batches in flight (a few milliseconds of work each). */
const FINISH_WAIT_MS = 10_000;

/** Placing workers running now (started and not yet closed). */
let running = 0;

/**
 * How many placing workers run now. A restore runs at most one (`MAX_PLACERS`): volumes
 * extracted at the same time share two cores anyway, and each worker costs ~15-20 MiB.
 */
export function placersRunning(): number {
  return running;
}

/** Placing workers a process runs at most; a volume finding none free writes its files itself. */
export const MAX_PLACERS = 1;

/** What a `SmallFilePlacer` is made with. */
export interface PlacerOptions {
  settings: PlacerSettings;
  /** Where files written in place are named first. */
  journal: PlacingJournal;
  /** How part files are named: `<partPrefix>w<n>.part` on the worker, `h` on this thread. */
  partPrefix: string;
  /** Batches the worker may have to place before this thread places one itself. */
  workerQueue?: number;
}

/** One placing worker, for one volume's small files. */
export class SmallFilePlacer {
  readonly #worker: Worker;
  /** Final paths of the files queued for the next batch. */
  #fulls: string[] = [];
  #numbers = new Float64Array(PLACE_BATCH_FILES * JOB_FIELDS);
  #done: Placed[] = [];
  #bytes = new Uint8Array(PLACE_BATCH_BYTES);
  #used = 0;
  /** Buffers of answered batches, to fill again. */
  readonly #spare: Uint8Array<ArrayBuffer>[] = [];
  readonly #sent: SentBatch[] = [];
  /** The first error of a callback or of the worker: every later call throws it. */
  #failure: { error: unknown } | undefined;
  #closed = false;
  /** Batches sent to the worker, and (shared with it) those it has placed. */
  #posted = 0;
  readonly #placed = new Int32Array(new SharedArrayBuffer(4));
  /** Places batches on this thread when the worker is behind; made when first needed. */
  #here: PartPlacer | undefined;
  readonly #settings: PlacerSettings;
  readonly #journal: PlacingJournal;
  readonly #workerQueue: number;
  readonly #partPrefix: string;

  /**
   * A worker placing files as `options.settings` say (see `PlacerOptions`); with
   * `settings.inPlace`, files into folders this run made are written in place, each batch's
   * named in `journal` before the batch is placed.
   */
  constructor({ settings, journal, partPrefix, workerQueue = WORKER_QUEUE }: PlacerOptions) {
    this.#workerQueue = workerQueue;
    this.#settings = settings;
    this.#journal = journal;
    this.#partPrefix = partPrefix;
    running++;
    this.#worker = new Worker(new URL("./place_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = ({ data }: MessageEvent<PlaceReply>) => this.#answered(data);
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#fail(new Error(`placing files stopped: ${event.message}`));
    };
    this.#worker.postMessage(
      {
        type: "init",
        settings: this.#settings,
        partPrefix: `${partPrefix}w`,
        placed: this.#placed,
      } satisfies PlaceRequest,
    );
  }

  /**
   * Queues a file (its `body` is copied: the caller may reuse it at once); a full batch goes to
   * the worker, or is placed here (see `#send`). `placed` hears of its outcome when its batch is
   * placed. Returns a promise only when a batch had to be sent (most files need no wait).
   */
  add(
    placement: Placement,
    meta: PartMeta,
    body: Uint8Array,
    placed: Placed,
  ): Promise<void> | undefined {
    this.#throwIfFailed();
    if (body.length > this.#bytes.length - this.#used) {
      return this.#send().then(() => this.add(placement, meta, body, placed));
    }
    const start = this.#used;
    this.#bytes.set(body, start);
    this.#used += body.length;
    packJob(this.#numbers, this.#fulls.length, placement, meta, start, this.#used);
    this.#fulls.push(placement.full);
    this.#done.push(placed);
    if (this.#fulls.length >= PLACE_BATCH_FILES) return this.#send();
  }

  /** Sends what is queued and waits until every file sent is placed (and its callback run). */
  async drain(): Promise<void> {
    await this.#send();
    while (this.#sent.length > 0) await this.#sent[0].answered.promise;
    this.#throwIfFailed();
  }

  /**
   * Lets the worker finish the batches it was sent (for at most `waitMs`), then stops it: on a
   * stop or an error, files it started are not left half-written (files of a queued batch are
   * not written). A batch not answered in time stays named in the journal.
   */
  async finish(waitMs = FINISH_WAIT_MS): Promise<void> {
    if (this.#closed) return;
    const answered = Promise.allSettled(this.#sent.map((batch) => batch.answered.promise));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      answered,
      new Promise<void>((resolve) => timer = setTimeout(resolve, waitMs)),
    ]);
    clearTimeout(timer);
    this.close();
  }

  /**
   * Stops the worker at once: a file it was writing stays a part file in the staging folder, or
   * half-written in place and named in the journal (`finish` lets it end its batches first).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    running--;
    this.#worker.terminate();
    this.#fail(new Error("placing files stopped: the placer was closed"));
  }

  /**
   * Sends the queued batch, if any, or places it on this thread when the worker has two to place
   * already (it is behind: this thread would wait for it); waits while too many are unanswered.
   */
  async #send(): Promise<void> {
    if (this.#fulls.length > 0) {
      const named = this.#nameInPlace();
      const queued = this.#posted - Atomics.load(this.#placed, 0);
      if (queued >= this.#workerQueue) this.#placeHere(named);
      else this.#post(named);
      this.#fulls = [];
      this.#done = [];
      this.#used = 0;
    }
    while (this.#sent.length > UNANSWERED_BATCHES) {
      await this.#sent[0].answered.promise;
      this.#throwIfFailed();
    }
    this.#throwIfFailed();
  }

  /** Sends the queued batch to the worker, its buffers with it. */
  #post(named: number | undefined): void {
    const batch: SentBatch = { done: this.#done, named, answered: Promise.withResolvers<void>() };
    // Settled (or failed) in order; a failure is also thrown by the next call.
    batch.answered.promise.catch(() => {});
    this.#sent.push(batch);
    this.#posted++;
    const bytes = this.#bytes;
    const numbers = this.#numbers.slice(0, this.#fulls.length * JOB_FIELDS);
    this.#worker.postMessage(
      {
        type: "place",
        fulls: this.#fulls.join("\0"),
        numbers,
        bytes,
      } satisfies PlaceRequest,
      [bytes.buffer, numbers.buffer],
    );
    this.#bytes = this.#spare.pop() ?? new Uint8Array(PLACE_BATCH_BYTES);
  }

  /** Places the queued batch on this thread, as the worker would, and reports its outcomes. */
  #placeHere(named: number | undefined): void {
    const outcome = placeBatch(
      this.#here ??= new PartPlacer(this.#settings, `${this.#partPrefix}h`),
      this.#fulls,
      this.#numbers,
      this.#bytes,
    );
    if (named !== undefined) this.#journal.release(named);
    this.#report(this.#done, outcome);
  }

  /**
   * Names in the journal the queued batch's files that may be written in place (those into
   * folders this run made), before any is; returns the journal file's number.
   */
  #nameInPlace(): number | undefined {
    if (!this.#settings.inPlace) return undefined;
    const since = Date.now();
    const entries: JournalEntry[] = [];
    for (let i = 0; i < this.#fulls.length; i++) {
      const at = i * JOB_FIELDS;
      if ((this.#numbers[at + 5] & FRESH) === 0) continue;
      entries.push({
        path: this.#journal.relative(this.#fulls[i]),
        size: this.#numbers[at + 7] - this.#numbers[at + 6],
        mtime: this.#numbers[at + 1],
        since,
      });
    }
    return entries.length > 0 ? this.#journal.record(entries) : undefined;
  }

  /** A batch's answer from the worker: its journal file goes, each file's callback runs. */
  #answered(reply: PlaceReply): void {
    const batch = this.#sent.shift();
    if (!batch) return;
    if (reply.bytes.byteLength === PLACE_BATCH_BYTES) this.#spare.push(reply.bytes);
    try {
      if (batch.named !== undefined) this.#journal.release(batch.named);
      this.#report(batch.done, reply);
    } catch (error) {
      this.#failure ??= { error };
    }
    batch.answered.resolve();
  }

  /** Runs each file's callback with its outcome, in order. */
  #report(done: Placed[], { codes, details }: BatchOutcome): void {
    const detailOf = new Map(details);
    codes.forEach((code, i) => {
      const detail = detailOf.get(i);
      done[i](
        code === WRITTEN
          ? WRITTEN_OUTCOME
          : code === EXISTS
          ? EXISTS_OUTCOME
          : code === BLOCKED
          ? { kind: "blocked", reason: detail as string }
          : revivedError(detail as PostedError),
      );
    });
  }

  #fail(error: Error): void {
    this.#failure ??= { error };
    for (const batch of this.#sent.splice(0)) batch.answered.reject(error);
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
