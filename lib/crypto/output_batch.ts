/** Collects stream output into large buffers so a stream emits ~1 MiB pieces, not many small ones. */

/** The default size of an output batch: sixteen encrypted 64 KiB chunks. */
export const DEFAULT_BATCH_SIZE = 16 * (64 * 1024 + 16);

/**
 * Writes output into a large buffer and emits filled regions of it. Emitted regions are never
 * written again, so consumers may keep them.
 */
export class OutputBatcher {
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;

  constructor(
    private readonly emit: (chunk: Uint8Array) => void,
    private readonly capacity = DEFAULT_BATCH_SIZE,
  ) {
    this.#buffer = new Uint8Array(capacity);
  }

  /**
   * Returns the buffer and offset where the next `size` bytes may be written; call commit(size)
   * once they are. Emits the current batch first if it lacks room.
   */
  reserve(size: number): { buffer: Uint8Array; offset: number } {
    if (this.#buffer.length - this.#end < size) {
      this.flush();
      this.#buffer = new Uint8Array(Math.max(this.capacity, size));
      this.#start = 0;
      this.#end = 0;
    }
    return { buffer: this.#buffer, offset: this.#end };
  }

  /** Records that `size` bytes were written at the offset reserve returned. */
  commit(size: number): void {
    this.#end += size;
  }

  /** Copies `bytes` into the batch. */
  write(bytes: Uint8Array): void {
    const { buffer, offset } = this.reserve(bytes.length);
    buffer.set(bytes, offset);
    this.commit(bytes.length);
  }

  /** Emits everything written since the last emit. */
  flush(): void {
    if (this.#end === this.#start) return;
    this.emit(this.#buffer.subarray(this.#start, this.#end));
    this.#start = this.#end;
  }
}
