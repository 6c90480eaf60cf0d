/**
 * Buffered output of many lines (a listing of a million files): text is gathered into blocks of
 * about 64 KiB and written with backpressure, so memory stays flat however long the output is.
 */

/** Something bytes can be written to, like `Deno.stdout`. */
export interface ByteSink {
  write(data: Uint8Array): Promise<number>;
}

const BLOCK_CHARS = 64 * 1024;

/** Writes text to a sink in blocks; call `flush()` at the end. */
export class LineWriter {
  readonly #sink: ByteSink;
  readonly #encoder = new TextEncoder();
  #parts: string[] = [];
  #pending = 0;
  #closed = false;

  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  /**
   * True once the reader has gone away (a closed pipe, as with `| head`): further output is
   * dropped and the caller may stop early.
   */
  get closed(): boolean {
    return this.#closed;
  }

  /** Appends `text` followed by a newline. */
  async line(text: string): Promise<void> {
    await this.write(`${text}\n`);
  }

  /** Appends `text` as is. */
  async write(text: string): Promise<void> {
    if (this.#closed) return;
    this.#parts.push(text);
    this.#pending += text.length;
    if (this.#pending >= BLOCK_CHARS) await this.flush();
  }

  /** Writes out everything gathered so far. */
  async flush(): Promise<void> {
    if (this.#parts.length === 0 || this.#closed) return;
    const bytes = this.#encoder.encode(this.#parts.join(""));
    this.#parts = [];
    this.#pending = 0;
    try {
      for (let offset = 0; offset < bytes.length;) {
        offset += await this.#sink.write(bytes.subarray(offset));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
      this.#closed = true;
    }
  }
}
