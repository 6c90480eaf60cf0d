/**
 * Groups the pieces of a stream into runs: pieces that follow each other in one buffer. For a
 * producer that fills its buffers front to back and never returns to one it left (zlib, the age
 * decryptor's batches, file reads into fresh buffers), a run is finished once a piece lies in
 * another buffer: nothing will write to its buffer again, so the run may be sent as it is (its
 * buffer transferred) instead of copied.
 */

/** The bytes of one run, a view of its buffer. */
interface OpenRun {
  buffer: ArrayBuffer;
  start: number;
  end: number;
}

/** Collects pieces into runs and hands out each run once finished. */
export class BufferRuns {
  #run: OpenRun | undefined;

  /**
   * Takes the next piece; returns the runs it finished (none, one, or two), in stream order.
   * A run whose buffer the piece continues elsewhere than at its end (not front to back) is
   * returned as a copy, as its buffer is not finished. Throws on a piece of a buffer already
   * handed out and transferred (detached): a producer that returned to a buffer it had left.
   */
  push(piece: Uint8Array): Uint8Array<ArrayBuffer>[] {
    const buffer = piece.buffer as ArrayBuffer;
    if (buffer.detached) {
      throw new Error("a stream piece lies in a buffer already handed out (not front to back)");
    }
    if (piece.length === 0) return [];
    const run = this.#run;
    this.#run = { buffer, start: piece.byteOffset, end: piece.byteOffset + piece.length };
    if (!run) return [];
    if (run.buffer !== buffer) return [view(run)];
    if (run.end === piece.byteOffset) {
      this.#run.start = run.start;
      return [];
    }
    return [view(run).slice()];
  }

  /** The last run (at the end of the stream), if any. */
  finish(): Uint8Array<ArrayBuffer>[] {
    const run = this.#run;
    this.#run = undefined;
    return run ? [view(run)] : [];
  }
}

function view(run: OpenRun): Uint8Array<ArrayBuffer> {
  return new Uint8Array(run.buffer, run.start, run.end - run.start);
}
