/**
 * Frees stream buffers as soon as the pipeline is done with them. A gigabyte passing through the
 * volume pipeline is a stream of megabyte buffers, and V8 collects ArrayBuffers only when its
 * (small) heap fills: left to the collector, hundreds of megabytes of spent buffers pile up.
 * `ArrayBuffer.prototype.transfer(0)` detaches a buffer and releases its memory at once.
 */

/** Releases the memory of `buffer` now. Whoever still holds a view sees it empty. */
export function freeBuffer(buffer: ArrayBufferLike): void {
  if (buffer instanceof ArrayBuffer && !buffer.detached) buffer.transfer(0);
}

/**
 * Whether `chunk` is the whole of an ArrayBuffer: the only kind of view whose buffer may be freed
 * or transferred (others may still read their part of a shared one).
 */
export function isWholeBuffer(chunk: Uint8Array): chunk is Uint8Array<ArrayBuffer> {
  return chunk.buffer instanceof ArrayBuffer && chunk.byteOffset === 0 &&
    chunk.byteLength === chunk.buffer.byteLength;
}

/**
 * Frees the buffer under `chunk` now when `chunk` is the whole of it (a view into a shared
 * buffer is left alone: others may still read their part of it).
 */
export function freeWholeBuffer(chunk: Uint8Array): void {
  if (isWholeBuffer(chunk)) freeBuffer(chunk.buffer);
}

/**
 * Wraps a stage that copies what it reads (compression, encryption): once the stage has taken an
 * input chunk that is a whole buffer of its own, that buffer is freed. Never wrap a stage that
 * may pass its input chunks on (an identity stream): the next stage would find them empty.
 */
export function freeingInputs(
  stage: TransformStream<Uint8Array, Uint8Array>,
): { writable: WritableStream<Uint8Array>; readable: ReadableStream<Uint8Array> } {
  const writer = stage.writable.getWriter();
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      await writer.write(chunk);
      freeWholeBuffer(chunk);
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  });
  return { writable, readable: stage.readable };
}

/**
 * For the last consumer of a stream whose producer fills buffers front to back and never returns
 * to one it left (the age and TAR batchers, zlib): when chunks move on to a new buffer, the
 * previous buffer has been consumed entirely and is freed.
 */
export class SequentialRelease {
  #current: ArrayBufferLike | undefined;

  /** Call after `chunk` has been fully consumed. */
  consumed(chunk: Uint8Array): void {
    if (chunk.buffer === this.#current) return;
    if (this.#current) freeBuffer(this.#current);
    this.#current = chunk.buffer;
  }

  /** Frees the last buffer; call when the stream has ended. */
  finish(): void {
    if (this.#current) freeBuffer(this.#current);
    this.#current = undefined;
  }
}
