/**
 * Decodes a volume file (age decrypt, decompress: `decodeVolume`) on a worker thread, so that the
 * thread that reads the TAR stream and writes files (a restore) is not also the one decrypting
 * and decompressing: on two cores the two overlap. The worker sends the TAR bytes in batches of
 * about 1 MiB (the decompressor's buffers, or short pieces gathered), transferred (not copied),
 * and never more than a few batches ahead of the reader, so memory stays bounded whatever the
 * volume's size. Errors come back as the same kinds (`AgeError`, `NoMatchingIdentityError`,
 * `ZstdFrameError`, Deno's file errors) with the same one-line messages.
 */
import type { VolumeFormat } from "./volume_format.ts";
import type { VolumeCheck } from "./volume_check.ts";
import { type PostedError, revivedError } from "./worker_errors.ts";
import { freeBuffer } from "../memory/buffer_release.ts";

/** Bytes of TAR data per batch the worker gathers short pieces in. */
export const DECODE_BATCH_BYTES = 1 << 20;

/** Batches asked for ahead of the reader: decoded while it works on the current one. */
const BATCHES_AHEAD = 3;

/** Decoding workers running now (started and not yet stopped): for tests. */
let running = 0;

/** How many decoding worker threads are running now. */
export function decodeWorkersRunning(): number {
  return running;
}

/** The message that starts the worker. */
export interface DecodeStart {
  type: "start";
  path: string;
  format: VolumeFormat;
  identities: string[];
  batchBytes: number;
  /** Batches the worker may send before the first is read. */
  ahead: number;
  /**
   * Size and SHA-256 the file must have: hashed through the handle it is then decoded from,
   * before a byte of it is decoded (`ChecksumError` otherwise).
   */
  check?: VolumeCheck;
  /** Post which file was opened (`opened`) before anything else. */
  identify?: boolean;
}

/**
 * The message that sets a worker to check a volume file only: it posts which file it opened,
 * then hashes it and ends, or fails with `ChecksumError`.
 */
export interface VerifyStart {
  type: "verify";
  path: string;
  check: VolumeCheck;
}

/** Which file a handle is open on: two handles with the same are on the same file. */
export interface FileIdentity {
  dev: number;
  /** Null where the system gives none (Windows): such a file cannot be told apart. */
  ino: number | null;
}

/** Leave for the worker to send one more batch. */
export interface DecodeMore {
  type: "more";
}

/** What the worker sends: a batch of TAR bytes, the end, or the error that stopped it. */
export type DecodeReply =
  | { type: "batch"; bytes: Uint8Array<ArrayBuffer> }
  | ({ type: "opened" } & FileIdentity)
  | { type: "end" }
  | ({ type: "error" } & PostedError);

/**
 * The TAR stream of the volume file at `path`, decoded on a worker thread of its own (see
 * `VolumeDecoder.decode`).
 */
export function decodeVolumeFile(
  path: string,
  format: VolumeFormat,
  identities: string[],
): ReadableStream<Uint8Array> {
  return new VolumeDecoder().decode(path, format, identities);
}

/**
 * One decoding worker thread, for one volume. It starts (loads its modules) when made, so a
 * restore makes it before downloading the volume and the start overlaps the download; `decode`
 * then sets it to work. `close` stops it, if `decode` was never called or its stream never read
 * to its end.
 */
export class VolumeDecoder {
  readonly #worker: Worker;
  #stopped = false;
  #used = false;
  /** Called with each message of the worker once `decode` has been called. */
  #onReply: (reply: DecodeReply) => void = () => {};
  #onFailure: (error: Error) => void = () => {};

  /** Starts the worker thread. */
  constructor() {
    this.#worker = new Worker(new URL("./volume_decode_worker.ts", import.meta.url).href, {
      type: "module",
    });
    running++;
    this.#worker.onmessage = ({ data }: MessageEvent<DecodeReply>) => {
      if (!this.#stopped) this.#onReply(data);
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      if (!this.#stopped) this.#onFailure(new Error(`volume decoding stopped: ${event.message}`));
    };
  }

  /** Stops the worker (again: nothing); a read of its stream still waiting then fails. */
  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    running--;
    this.#worker.terminate();
    this.#onFailure(new Error("volume decoding stopped: the decoder was closed"));
  }

  /**
   * Checks the volume file at `path` against `check` on the worker, instead of decoding it (call
   * once, instead of `decode`): resolves with which file it hashed once its size and SHA-256 are
   * `check`'s; rejects with `ChecksumError` otherwise. The worker stops either way.
   */
  verify(path: string, check: VolumeCheck): Promise<FileIdentity> {
    if (this.#used) throw new TypeError("a VolumeDecoder decodes one volume");
    this.#used = true;
    return new Promise<FileIdentity>((resolve, reject) => {
      let identity: FileIdentity | undefined;
      this.#onFailure = reject;
      this.#onReply = (data) => {
        if (data.type === "opened") identity = { dev: data.dev, ino: data.ino };
        else if (data.type === "error") reject(revivedError(data));
        else if (data.type === "end" && identity) resolve(identity);
        else reject(new Error(`volume check ended unexpectedly (${data.type})`));
        if (data.type !== "opened") this.close();
      };
      if (this.#stopped) reject(new Error("volume decoding stopped: the decoder was closed"));
      else this.#worker.postMessage({ type: "verify", path, check } satisfies VerifyStart);
    });
  }

  /**
   * The TAR stream of the volume file at `path` (call once). With `check`, the worker first
   * hashes the whole file through the handle it then decodes it from, and the stream fails with
   * `ChecksumError` before its first byte when the size or SHA-256 is not `check`'s. Cancelling the stream (or reaching
   * its end, or an error) stops the worker. Each batch is freed when the next one is read (left
   * to the collector, spent batches held ~150 MiB): the reader must be done with a batch, and
   * with every view of it, before it reads on, as the TAR reader and the restore are.
   */
  decode(
    path: string,
    format: VolumeFormat,
    identities: string[],
    check?: VolumeCheck,
    onOpened?: (identity: FileIdentity) => void,
  ): ReadableStream<Uint8Array> {
    if (this.#used) throw new TypeError("a VolumeDecoder decodes one volume");
    this.#used = true;
    /** Batches received and not yet read, then the end or the error. */
    const received: Uint8Array[] = [];
    let last: { error?: Error } | undefined;
    /** A read waiting for the next message. */
    let waiting: (() => void) | undefined;
    let previous: Uint8Array | undefined;
    const wake = () => {
      const resolve = waiting;
      waiting = undefined;
      resolve?.();
    };
    const finish = (error?: Error) => {
      last ??= { error };
      this.close();
      wake();
    };
    this.#onReply = (data) => {
      if (data.type === "opened") return onOpened?.({ dev: data.dev, ino: data.ino });
      if (data.type === "batch") received.push(data.bytes);
      else finish(data.type === "error" ? revivedError(data) : undefined);
      wake();
    };
    this.#onFailure = finish;
    if (this.#stopped) finish(new Error("volume decoding stopped: the decoder was closed"));
    const start: DecodeStart = {
      type: "start",
      path,
      format,
      identities,
      batchBytes: DECODE_BATCH_BYTES,
      ahead: BATCHES_AHEAD,
      check,
      identify: onOpened !== undefined,
    };
    if (!this.#stopped) this.#worker.postMessage(start);
    const more: DecodeMore = { type: "more" };
    // The worker sends a batch only while fewer than BATCHES_AHEAD it sent are unread: each
    // batch read here lets it send one more.
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        while (received.length === 0 && last === undefined) {
          await new Promise<void>((resolve) => {
            waiting = resolve;
          });
        }
        if (previous) freeBuffer(previous.buffer);
        const batch = received.shift();
        previous = batch;
        if (batch) {
          controller.enqueue(batch);
          if (!this.#stopped) this.#worker.postMessage(more);
        } else if (last?.error) controller.error(last.error);
        else controller.close();
      },
      cancel: () => {
        this.close();
        received.length = 0;
      },
    }, { highWaterMark: 0 });
  }
}
