/**
 * zstd decompression written straight into the caller's buffers, with plain calls. The volume
 * decoder (volume_decode_worker.ts) fills its 1 MiB batches with it: the `node:zlib` stream
 * (compress.ts) took 1.35 s to decompress the 833 MB bench volume where this takes 1.0 s, as it
 * allocates a fresh output buffer per MiB (page faults, then a copy into a batch) and steps a
 * Node stream and a Web stream for each piece.
 *
 * It drives the native handle of a `node:zlib` zstd decompressor as Node's own `zlib.js` does
 * (`handle.writeSync(flush, in, inOffset, inLength, out, outOffset, outLength)`, which leaves the
 * output and input space left in the stream's `_writeState`): that is Node's internal interface,
 * which Deno's `node:zlib` (2.9) implements; where it is missing (`canInflateZstd`), the decoder
 * keeps to the stream, and zstd_inflate_test.ts checks what it gives. Input is cut at frame
 * ends first (see zstd_frames.ts), as Deno's decompressor needs. A volume's output is bounded by
 * the buffers given, whatever its frames claim.
 */
import * as zlib from "node:zlib";
import { ZstdFrameError, ZstdFrameParser } from "./zstd_frames.ts";

/** The parts of Node's native zlib handle used here. */
interface NativeZstdHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  close(): void;
}

/** The native handle and write state of a new `node:zlib` zstd decompressor, if it has them. */
function nativeDecompressor(): { handle: NativeZstdHandle; state: Uint32Array } | undefined {
  const stream = zlib.createZstdDecompress() as unknown as {
    _handle?: NativeZstdHandle;
    _writeState?: Uint32Array;
  };
  if (
    typeof stream._handle?.writeSync !== "function" ||
    !(stream._writeState instanceof Uint32Array)
  ) {
    return undefined;
  }
  return { handle: stream._handle, state: stream._writeState };
}

let available: boolean | undefined;

/**
 * Whether this runtime's `node:zlib` has the native handle `ZstdInflater` drives (Deno 2.9 has):
 * where it has not, a volume is decompressed through the `node:zlib` stream instead.
 */
export function canInflateZstd(): boolean {
  if (available === undefined) {
    const probe = nativeDecompressor();
    probe?.handle.close();
    available = probe !== undefined;
  }
  return available;
}

/** zstd decompression of a stream fed in pieces of any size, into buffers the caller gives. */
export class ZstdInflater {
  readonly #handle: NativeZstdHandle;
  /** [output space left, input left] after each write. */
  readonly #state: Uint32Array;
  readonly #parser = new ZstdFrameParser();
  /** Frame-aligned pieces of the input pushed and not yet all decompressed. */
  #pieces: Uint8Array[] = [];
  /** Bytes of `#pieces[0]` already taken. */
  #taken = 0;

  constructor() {
    const native = nativeDecompressor();
    if (!native) throw new Error("this runtime's node:zlib has no zstd handle to decompress with");
    this.#handle = native.handle;
    this.#state = native.state;
  }

  /** True once every byte pushed has been decompressed and its output given out. */
  get needsInput(): boolean {
    return this.#pieces.length === 0;
  }

  /**
   * Takes the next bytes of the stream (call only when `needsInput`). The inflater reads them
   * during the following `inflate` calls: the caller keeps them unchanged until `needsInput`.
   */
  push(chunk: Uint8Array): void {
    if (!this.needsInput) throw new Error("ZstdInflater.push before the last input was used");
    let start = 0;
    for (const end of this.#parser.frameEnds(chunk)) {
      if (end > start) this.#pieces.push(chunk.subarray(start, end));
      start = end;
    }
    if (start < chunk.length) this.#pieces.push(chunk.subarray(start));
    this.#taken = 0;
  }

  /**
   * Decompresses into `output` from `offset` on, until it is full or the input pushed is all
   * used (`needsInput`); returns the bytes written. A damaged frame throws the decompressor's
   * error ("Zstd decompress error: ...").
   */
  inflate(output: Uint8Array, offset: number): number {
    let written = 0;
    while (this.#pieces.length > 0 && offset + written < output.length) {
      const piece = this.#pieces[0];
      const inLength = piece.length - this.#taken;
      const room = output.length - offset - written;
      this.#handle.writeSync(0, piece, this.#taken, inLength, output, offset + written, room);
      const produced = room - this.#state[0];
      const used = inLength - this.#state[1];
      written += produced;
      this.#taken += used;
      // A piece is done when all of it went in and the decompressor kept no output back (it
      // left room): the next write may then start the next frame.
      if (this.#taken === piece.length && this.#state[0] > 0) {
        this.#pieces.shift();
        this.#taken = 0;
      } else if (produced === 0 && used === 0) {
        throw new ZstdFrameError("the zstd decompressor made no progress on the volume's data");
      }
    }
    return written;
  }

  /** Checks that the stream ended where a frame ends (call once all was inflated). */
  finish(): void {
    if (!this.needsInput) throw new Error("ZstdInflater.finish before all input was inflated");
    if (!this.#parser.atFrameStart) {
      throw new ZstdFrameError("the zstd stream ends in the middle of a frame");
    }
  }

  /** Frees the decompressor's native state. */
  close(): void {
    this.#pieces = [];
    try {
      this.#handle.close();
    } catch {
      // closed already
    }
  }
}
