/**
 * Compresses one segment of a TAR stream into one complete zstd frame or gzip member: what a
 * compression worker does with each segment (compress_worker.ts), and what the calling thread
 * does when a volume's segments are compressed where they are made (`compressOnThisThread`).
 */
import * as zlib from "node:zlib";
import { freeBuffer } from "../memory/buffer_release.ts";

/**
 * `input` compressed at `level`: a frame that `zstd -d` (`gzip -d`) reads on its own, in a buffer
 * of its own and of its size (the stages after it take such a buffer over, or free it, whole).
 */
export function compressSegment(
  kind: "zstd" | "gzip",
  level: number,
  input: Uint8Array,
): Uint8Array<ArrayBuffer> {
  // Room for incompressible input (zstd and deflate add well under 1% in the worst case), so
  // that zlib writes the whole frame into one allocation.
  const chunkSize = input.byteLength + (input.byteLength >> 6) + 65536;
  const packed = kind === "zstd"
    ? zlib.zstdCompressSync(input, {
      chunkSize,
      params: { [zlib.constants.ZSTD_c_compressionLevel]: level },
    })
    : zlib.gzipSync(input, { chunkSize, level });
  // The frame sits at the start of the larger allocation made for it: an exact copy is made
  // here (on the worker that compressed it, not on the thread that waits for it), and the
  // allocation freed now (see lib/memory/buffer_release.ts for why).
  const frame = new Uint8Array(packed.buffer as ArrayBuffer, packed.byteOffset, packed.byteLength);
  if (frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength) return frame;
  const exact = frame.slice();
  freeBuffer(packed.buffer);
  return exact;
}
