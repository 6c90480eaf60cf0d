/**
 * Places small restored files on a worker thread (place_worker.ts) while the restore's own thread
 * reads the volume on: a restore of many small files is mostly the calls that create, write, time
 * and name each one, and on one thread those left the other core idle. The caller checks each
 * file's way and what is at its name (`RestoreWriter.checkFile`) first, as for a file it writes
 * itself; the worker then does what `RestoreWriter.fileSync` would do next, with the same
 * `PartPlacer`, so a file goes in the same way on either thread (a part file first, its name
 * last). Files go in batches (their content copied into one buffer, transferred), at most two
 * batches in flight, so memory stays bounded; each file's outcome comes back to a callback, in
 * order. Whatever depends on earlier files being in place (a hard link, the end of a volume)
 * waits for `drain`.
 */
import type { PartMeta, Placement, PlacerSettings } from "./part_placer.ts";
import type { JournalEntry, PlacingJournal } from "./placing_journal.ts";
import type { WriteOutcome } from "./safe_writer.ts";
import { type PostedError, revivedError } from "../archive/worker_errors.ts";

/** What the worker is sent. */
export type PlaceRequest =
  | { type: "init"; settings: PlacerSettings }
  | PlaceBatch;

/**
 * A batch of files, packed for a cheap crossing (a few strings and arrays, not an object a
 * file): part and final paths joined by NUL (which no path holds), and per file the numbers of
 * `JOB_FIELDS`; the files' content lies in `bytes` at [start, end).
 */
export interface PlaceBatch {
  type: "place";
  parts: string;
  fulls: string;
  numbers: Float64Array<ArrayBuffer>;
  bytes: Uint8Array<ArrayBuffer>;
}

/** The numbers of one file in `PlaceBatch.numbers`, in this order. */
export const JOB_FIELDS = 8;
/** `flags` bits: what is at the name was checked already; the folder was made by this run. */
export const CHECKED = 1, FRESH = 2;

/** Outcome codes of `PlaceReply.codes`. */
export const WRITTEN = 0, EXISTS = 1, BLOCKED = 2, FAILED = 3;

/**
 * What the worker answers a batch with: one code per file, in order, and for a blocked file its
 * reason, for a failed one its error (index -> detail); the batch's buffer, to fill again.
 */
export interface PlaceReply {
  type: "placed";
  codes: Uint8Array<ArrayBuffer>;
  details: [number, string | PostedError][];
  bytes: Uint8Array<ArrayBuffer>;
}

/** Packs one file's numbers into `numbers` at file `index`. */
export function packJob(
  numbers: Float64Array,
  index: number,
  placement: Placement,
  meta: PartMeta,
  start: number,
  end: number,
): void {
  const at = index * JOB_FIELDS;
  numbers[at] = meta.mode;
  numbers[at + 1] = meta.mtime;
  numbers[at + 2] = meta.owner ? 1 : 0;
  numbers[at + 3] = meta.owner?.uid ?? 0;
  numbers[at + 4] = meta.owner?.gid ?? 0;
  numbers[at + 5] = (placement.checked ? CHECKED : 0) | (placement.fresh ? FRESH : 0);
  numbers[at + 6] = start;
  numbers[at + 7] = end;
}

/** Bytes of file content a batch holds at most (a file of up to this size fits in one). */
export const PLACE_BATCH_BYTES = 1 << 20;
/** Files a batch holds at most. */
export const PLACE_BATCH_FILES = 256;
/** Batches sent and not yet answered, at most. */
const BATCHES_IN_FLIGHT = 2;
/**
 * Files a placer's journal needs (placing_journal.ts): one per batch that may be unanswered when
 * the next is named, which is sent before the placer waits for any.
 */
export const JOURNAL_SLOTS = BATCHES_IN_FLIGHT + 1;

const WRITTEN_OUTCOME: WriteOutcome = { kind: "written" };
const EXISTS_OUTCOME: WriteOutcome = { kind: "exists" };

/** Called with a file's outcome, or the error that kept it out (an OS error, say). */
export type Placed = (outcome: WriteOutcome | Error) => void;

/** A file queued for the next batch. */
interface QueuedFile {
  part: string;
  full: string;
}

/** A batch sent to the worker, waiting for its answer. */
interface SentBatch {
  done: Placed[];
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

/** One placing worker, for one volume's small files. */
export class SmallFilePlacer {
  readonly #worker: Worker;
  #jobs: QueuedFile[] = [];
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
  /** Batches sent so far. */
  #batches = 0;
  readonly #settings: PlacerSettings;
  readonly #journal: PlacingJournal | undefined;

  /**
   * A worker placing files as `settings` say; with `settings.inPlace`, files into folders this
   * run made are written in place, each batch's named in `journal` before the batch is sent.
   */
  constructor(settings: PlacerSettings, journal: PlacingJournal | undefined) {
    // Nothing is written in place unless it can be named in a journal first.
    this.#settings = journal ? settings : { ...settings, inPlace: false };
    this.#journal = journal;
    running++;
    this.#worker = new Worker(new URL("./place_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = ({ data }: MessageEvent<PlaceReply>) => this.#answered(data);
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#fail(new Error(`placing files stopped: ${event.message}`));
    };
    this.#worker.postMessage({ type: "init", settings: this.#settings } satisfies PlaceRequest);
  }

  /**
   * Queues a file (its `body` is copied: the caller may reuse it at once); waits only when two
   * batches are in flight already. `placed` hears of its outcome later, in order.
   */
  async add(
    part: string,
    placement: Placement,
    meta: PartMeta,
    body: Uint8Array,
    placed: Placed,
  ): Promise<void> {
    this.#throwIfFailed();
    if (body.length > this.#bytes.length - this.#used) await this.#send();
    const start = this.#used;
    this.#bytes.set(body, start);
    this.#used += body.length;
    packJob(this.#numbers, this.#jobs.length, placement, meta, start, this.#used);
    this.#jobs.push({ part, full: placement.full });
    this.#done.push(placed);
    if (this.#jobs.length >= PLACE_BATCH_FILES) await this.#send();
  }

  /**
   * Sends what is queued and waits until every file sent is placed (and its callback run); the
   * journal then names nothing.
   */
  async drain(): Promise<void> {
    await this.#send();
    while (this.#sent.length > 0) await this.#sent[0].answered.promise;
    this.#throwIfFailed();
    this.#journal?.clear();
  }

  /**
   * Lets the worker finish the batches it was sent (for at most `waitMs`), then stops it: on a
   * stop or an error, files it started are not left half-written (files of a queued batch are
   * not written). The journal is cleared when every batch sent was answered.
   */
  async finish(waitMs = FINISH_WAIT_MS): Promise<void> {
    if (this.#closed) return;
    const answered = Promise.allSettled(this.#sent.map((batch) => batch.answered.promise));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = await Promise.race([
      answered.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), waitMs)),
    ]);
    clearTimeout(timer);
    if (waited && this.#failure === undefined) this.#journal?.clear();
    this.close();
  }

  /** Stops the worker (files not yet placed stay part files in the staging folder). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    running--;
    this.#worker.terminate();
    this.#fail(new Error("placing files stopped: the placer was closed"));
  }

  /** Sends the queued batch, if any; waits while too many are in flight. */
  async #send(): Promise<void> {
    if (this.#jobs.length > 0) {
      const batch: SentBatch = {
        done: this.#done,
        answered: Promise.withResolvers<void>(),
      };
      this.#nameInPlace();
      // Settled (or failed) in order; a failure is also thrown by the next call.
      batch.answered.promise.catch(() => {});
      this.#sent.push(batch);
      const bytes = this.#bytes;
      const numbers = this.#numbers.slice(0, this.#jobs.length * JOB_FIELDS);
      this.#worker.postMessage(
        {
          type: "place",
          parts: this.#jobs.map((job) => job.part).join("\0"),
          fulls: this.#jobs.map((job) => job.full).join("\0"),
          numbers,
          bytes,
        } satisfies PlaceRequest,
        [bytes.buffer, numbers.buffer],
      );
      this.#jobs = [];
      this.#done = [];
      this.#batches++;
      this.#bytes = this.#spare.pop() ?? new Uint8Array(PLACE_BATCH_BYTES);
      this.#used = 0;
    }
    while (this.#sent.length > BATCHES_IN_FLIGHT) {
      await this.#sent[0].answered.promise;
      this.#throwIfFailed();
    }
    this.#throwIfFailed();
  }

  /**
   * Names in the journal the queued batch's files that the worker may write in place (those
   * into folders this run made), before the batch is sent.
   */
  #nameInPlace(): void {
    if (!this.#settings.inPlace) return;
    const since = Date.now();
    const entries: JournalEntry[] = [];
    for (let i = 0; i < this.#jobs.length; i++) {
      const at = i * JOB_FIELDS;
      if ((this.#numbers[at + 5] & FRESH) === 0) continue;
      entries.push({
        path: this.#journal!.relative(this.#jobs[i].full),
        size: this.#numbers[at + 7] - this.#numbers[at + 6],
        mtime: this.#numbers[at + 1],
        since,
      });
    }
    if (entries.length > 0) this.#journal!.record(this.#batches, entries);
  }

  /** A batch's answer: each file's callback, in order. */
  #answered(reply: PlaceReply): void {
    const batch = this.#sent.shift();
    if (!batch) return;
    if (reply.bytes.byteLength === PLACE_BATCH_BYTES) this.#spare.push(reply.bytes);
    try {
      const details = new Map(reply.details);
      reply.codes.forEach((code, i) => {
        const detail = details.get(i);
        batch.done[i](
          code === WRITTEN
            ? WRITTEN_OUTCOME
            : code === EXISTS
            ? EXISTS_OUTCOME
            : code === BLOCKED
            ? { kind: "blocked", reason: detail as string }
            : revivedError(detail as PostedError),
        );
      });
    } catch (error) {
      this.#failure ??= { error };
    }
    batch.answered.resolve();
  }

  #fail(error: Error): void {
    this.#failure ??= { error };
    for (const batch of this.#sent.splice(0)) batch.answered.reject(error);
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
