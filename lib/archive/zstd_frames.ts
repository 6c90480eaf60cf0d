/**
 * Re-chunks a zstd stream so that no chunk spans two frames. Volumes are written as many zstd
 * frames (one per segment, see lib/archive/compress_pool.ts), and Deno's node:zlib zstd
 * decompressor (2.9) only moves on to the next frame when a write ends exactly where a frame
 * ends: given a chunk holding the end of one frame and the start of the next, it drops the rest
 * or fails ("Unknown frame descriptor"), and its stream never ends. Feeding it frame-aligned
 * chunks avoids that. The frame layout (RFC 8878) is read without decompressing anything:
 * header, then blocks whose headers give their sizes, then an optional checksum; skippable
 * frames carry their size.
 */

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** The input is not a well-formed zstd stream. */
export class ZstdFrameError extends Error {
  override name = "ZstdFrameError";
}

/** A stream that passes zstd bytes through unchanged, cut at every frame end. */
export function alignZstdFrames(): TransformStream<Uint8Array, Uint8Array> {
  const parser = new ZstdFrameParser();
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      let start = 0;
      for (const end of parser.frameEnds(chunk)) {
        if (end > start) controller.enqueue(chunk.subarray(start, end));
        start = end;
      }
      if (start < chunk.length) controller.enqueue(chunk.subarray(start));
    },
    flush() {
      if (!parser.atFrameStart) {
        throw new ZstdFrameError("the zstd stream ends in the middle of a frame");
      }
    },
  });
}

type State =
  | "magic"
  | "descriptor"
  | "skip-header"
  | "block-header"
  | "block-body"
  | "checksum"
  | "skippable-size"
  | "skippable-body";

/** Follows frame boundaries through a zstd byte stream fed in arbitrary chunks. */
export class ZstdFrameParser {
  #state: State = "magic";
  /** Header bytes gathered for the current field. */
  #field: number[] = [];
  /** Bytes left to pass over in the current skipping state. */
  #skip = 0;
  #lastBlock = false;
  #checksum = false;

  /** True between frames (including before the first). */
  get atFrameStart(): boolean {
    return this.#state === "magic" && this.#field.length === 0;
  }

  /** The offsets in `chunk` just after each frame that ends in it. */
  *frameEnds(chunk: Uint8Array): Generator<number> {
    let i = 0;
    while (i < chunk.length) {
      switch (this.#state) {
        case "magic":
        case "descriptor":
        case "block-header":
        case "skippable-size":
          this.#field.push(chunk[i++]);
          if (this.#fieldComplete() && this.#onField()) yield i;
          break;
        default: {
          const take = Math.min(this.#skip, chunk.length - i);
          i += take;
          this.#skip -= take;
          if (this.#skip === 0 && this.#afterSkip()) yield i;
        }
      }
    }
  }

  #fieldComplete(): boolean {
    const wanted = { magic: 4, descriptor: 1, "block-header": 3, "skippable-size": 4 };
    return this.#field.length === wanted[this.#state as keyof typeof wanted];
  }

  /** Handles a complete field; true when a frame just ended. */
  #onField(): boolean {
    const f = this.#field;
    this.#field = [];
    switch (this.#state) {
      case "magic": {
        const magic = (f[0] | (f[1] << 8) | (f[2] << 16) | (f[3] << 24)) >>> 0;
        if (magic === ZSTD_MAGIC) this.#state = "descriptor";
        else if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
          this.#state = "skippable-size";
        } else throw new ZstdFrameError("not a zstd stream (bad frame magic number)");
        return false;
      }
      case "descriptor": {
        const descriptor = f[0];
        if (descriptor & 0x08) throw new ZstdFrameError("bad zstd frame header (reserved bit)");
        const singleSegment = (descriptor >> 5) & 1;
        this.#checksum = ((descriptor >> 2) & 1) === 1;
        const contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6];
        const dictionaryBytes = [0, 1, 2, 4][descriptor & 3];
        this.#skip = (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes;
        this.#state = this.#skip === 0 ? "block-header" : "skip-header";
        return false;
      }
      case "block-header": {
        const header = f[0] | (f[1] << 8) | (f[2] << 16);
        this.#lastBlock = (header & 1) === 1;
        const type = (header >> 1) & 3;
        if (type === 3) throw new ZstdFrameError("bad zstd block (reserved type)");
        this.#skip = type === 1 ? 1 : header >>> 3;
        this.#state = "block-body";
        return this.#skip === 0 ? this.#afterSkip() : false;
      }
      case "skippable-size": {
        this.#skip = (f[0] | (f[1] << 8) | (f[2] << 16) | (f[3] << 24)) >>> 0;
        this.#state = "skippable-body";
        return this.#skip === 0 ? this.#afterSkip() : false;
      }
      default:
        return false;
    }
  }

  /** Moves on once a skipped stretch is over; true when a frame just ended. */
  #afterSkip(): boolean {
    switch (this.#state) {
      case "skip-header":
        this.#state = "block-header";
        return false;
      case "block-body":
        if (!this.#lastBlock) {
          this.#state = "block-header";
          return false;
        }
        if (this.#checksum) {
          this.#state = "checksum";
          this.#skip = 4;
          return false;
        }
        this.#state = "magic";
        return true;
      case "checksum":
      case "skippable-body":
        this.#state = "magic";
        return true;
      default:
        return false;
    }
  }
}
