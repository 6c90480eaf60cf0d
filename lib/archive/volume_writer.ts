/**
 * Where a volume build's last stage runs (`VolumeFileOutput`: age encryption, SHA-256, writes):
 * on the calling thread (`writeOnThisThread`), or on a worker thread of its own
 * (`VolumeWriterThread`). A build of large files keeps the main thread busy reading them, hashing
 * their content and feeding the compressors; moving the encryption, the volume's SHA-256 and the
 * writes to a thread of their own lets the two overlap on two cores.
 */
import { VolumeFileOutput, type WrittenVolume } from "./volume_file.ts";
import { type PostedError, revivedError } from "./worker_errors.ts";
import { isWholeBuffer, SequentialRelease } from "../memory/buffer_release.ts";

export type { WrittenVolume } from "./volume_file.ts";

/** What writing a volume file needs beside its bytes and path. */
export interface WriteOptions {
  /** age recipients to encrypt to; without, the bytes are written as they come. */
  recipients?: string[];
  /**
   * Each chunk is the whole of a buffer no one else writes or reads again (as compressed frames
   * from a pool are): a writer thread takes it over instead of copying it. Otherwise chunks are
   * copied, and their buffers freed as a stream's last stage frees them.
   */
  ownChunks?: boolean;
  /** Called on this thread after each chunk is written (progress, crash points). */
  onWritten?: () => void;
  signal?: AbortSignal;
}

/** Writes volume files (see the module's doc). */
export interface VolumeWriter {
  /**
   * Writes the compressed TAR bytes of `stream` to a new file at `path` (encrypted when
   * `options.recipients` are given), and returns its size and SHA-256. The chunks are the
   * writer's own once read (their buffers are freed or handed to another thread). On failure the
   * file is closed, not removed.
   */
  write(
    stream: ReadableStream<Uint8Array>,
    path: string,
    options?: WriteOptions,
  ): Promise<WrittenVolume>;
}

/** Writes volume files on the calling thread. */
export const writeOnThisThread: VolumeWriter = {
  async write(stream, path, { recipients, onWritten, signal } = {}) {
    const output = await unlessOpened(stream, VolumeFileOutput.create(path, { recipients }));
    try {
      await pipeToSink(stream, {
        async write(chunk) {
          await output.write(chunk);
          onWritten?.();
        },
      }, signal);
      return await output.close();
    } catch (error) {
      output.abandon();
      throw error;
    }
  },
};

/** What the main thread asks of the writer worker, for the write numbered `id`. */
export type WriterRequest =
  | { kind: "open"; id: number; path: string; recipients?: string[] }
  | { kind: "chunk"; id: number; bytes: Uint8Array<ArrayBuffer> }
  | { kind: "close"; id: number }
  | { kind: "abort"; id: number };

/** What the writer worker answers, for the write numbered `id`. */
export type WriterReply =
  | { kind: "opened"; id: number }
  | { kind: "written"; id: number }
  | ({ kind: "closed"; id: number } & WrittenVolume)
  | { kind: "aborted"; id: number }
  | ({ kind: "failed"; id: number } & PostedError);

/** Writer threads started so far by this process: for tests. */
let threadsStarted = 0;

/** How many writer threads this process has started (all runs, all time). */
export function writerThreadsStarted(): number {
  return threadsStarted;
}

/** Chunks sent to the worker and not yet written: what it may hold ahead of its writes. */
const CHUNKS_AHEAD = 4;

/**
 * A worker thread that writes volume files, one at a time, for every volume of a run. It starts
 * with the first write and runs until `close()`. A write asked while another is in progress (a
 * volume built again during an upload, beside the build loop) runs on the calling thread.
 */
export class VolumeWriterThread implements VolumeWriter {
  #worker: Worker | undefined;
  #busy = false;
  #nextId = 0;
  /** Answers of the current write, and the wait for the next one. */
  #replies: WriterReply[] = [];
  #replied: (() => void) | undefined;

  async write(
    stream: ReadableStream<Uint8Array>,
    path: string,
    options: WriteOptions = {},
  ): Promise<WrittenVolume> {
    if (this.#busy) return await writeOnThisThread.write(stream, path, options);
    this.#busy = true;
    try {
      return await this.#writeOnWorker(stream, path, options);
    } finally {
      this.#busy = false;
    }
  }

  /** Stops the worker; a later write starts a new one. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  async #writeOnWorker(
    stream: ReadableStream<Uint8Array>,
    path: string,
    { recipients, ownChunks = false, onWritten, signal }: WriteOptions,
  ): Promise<WrittenVolume> {
    const worker = this.#worker ??= this.#start();
    const id = this.#nextId++;
    this.#replies = [];
    const post = (request: WriterRequest, transfer: ArrayBuffer[] = []) =>
      worker.postMessage(request, transfer);
    /** The next answer to this write; a failure is thrown as the error the worker met. */
    const next = async (): Promise<WriterReply> => {
      for (;;) {
        const reply = this.#replies.shift();
        if (reply?.kind === "failed" && (reply.id === id || reply.id === -1)) {
          throw revivedError(reply);
        }
        if (reply?.id === id) return reply;
        if (!reply) await new Promise<void>((resolve) => this.#replied = resolve);
      }
    };
    let unwritten = 0;
    const written = async () => {
      await next();
      unwritten--;
      if (!signal?.aborted) onWritten?.();
    };
    /** Has the worker close the file unfinished; the caller removes it next. */
    const abandon = async () => {
      post({ kind: "abort", id });
      while ((await next()).kind !== "aborted");
    };

    post({ kind: "open", id, path, recipients });
    await unlessOpened(stream, next());
    let result: WrittenVolume | undefined;
    // Chunks copied to be sent are freed here as the last stage of a stream frees its chunks.
    const release = new SequentialRelease();
    await pipeToSink(stream, {
      async write(chunk) {
        const bytes = ownChunks && isWholeBuffer(chunk) ? chunk : new Uint8Array(chunk);
        post({ kind: "chunk", id, bytes }, [bytes.buffer]);
        release.consumed(chunk);
        unwritten++;
        while (unwritten >= CHUNKS_AHEAD) await written();
      },
      async close() {
        while (unwritten > 0) await written();
        // Stopped while the last chunks were written: the volume is not finished either.
        if (signal?.aborted) {
          await abandon();
          throw signal.reason;
        }
        post({ kind: "close", id });
        result = await next() as WrittenVolume;
        release.finish();
      },
      abort: abandon,
    }, signal);
    return result!;
  }

  #start(): Worker {
    const worker = new Worker(new URL("./volume_writer_worker.ts", import.meta.url).href, {
      type: "module",
    });
    threadsStarted++;
    const deliver = (reply: WriterReply) => {
      this.#replies.push(reply);
      const resolve = this.#replied;
      this.#replied = undefined;
      resolve?.();
    };
    worker.onmessage = (event: MessageEvent<WriterReply>) => deliver(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      worker.terminate();
      if (this.#worker === worker) this.#worker = undefined;
      deliver({ kind: "failed", id: -1, name: "Error", message: event.message });
    };
    return worker;
  }
}

/**
 * `opening`'s result; when the file cannot be opened, `stream` is cancelled first, so that what
 * produces it (a packing thread, say) stops rather than waits for a reader.
 */
async function unlessOpened<T>(
  stream: ReadableStream<Uint8Array>,
  opening: Promise<T>,
): Promise<T> {
  try {
    return await opening;
  } catch (error) {
    await stream.cancel(error).catch(() => {});
    throw error;
  }
}

/**
 * `stream.pipeTo` a WritableStream of `sink`, failing with the sink's own error when it failed:
 * the source is cancelled then, and a cancel may fail too (a compressor still flushing its last
 * frames finds its output gone), which the pipe would report instead of what went wrong (a full
 * disk, say).
 */
export async function pipeToSink(
  stream: ReadableStream<Uint8Array>,
  sink: UnderlyingSink<Uint8Array>,
  signal?: AbortSignal,
): Promise<void> {
  let failed: { error: unknown } | undefined;
  const guard = <A extends unknown[]>(step: ((...args: A) => unknown) | undefined) =>
    step &&
    (async (...args: A) => {
      try {
        await step(...args);
      } catch (error) {
        failed ??= { error };
        throw error;
      }
    });
  const writable = new WritableStream<Uint8Array>({
    write: guard(sink.write?.bind(sink)),
    close: guard(sink.close?.bind(sink)),
    abort: sink.abort?.bind(sink),
  });
  try {
    await stream.pipeTo(writable, { signal });
  } catch (error) {
    throw failed ? failed.error : error;
  }
}
