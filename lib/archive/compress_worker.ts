/**
 * Worker side of `CompressorPool`: compresses one segment into one complete zstd frame or gzip
 * member. The output buffer is sized so that zlib writes the whole frame into one allocation,
 * and it is transferred (not copied) back with the segment, so nothing is left for this
 * isolate's garbage collector: the main thread frees both once it is done with them.
 */
import * as zlib from "node:zlib";
import type { SegmentJob, SegmentResult } from "./compress_pool.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<SegmentJob>) => void;
  postMessage: (message: SegmentResult, transfer: ArrayBuffer[]) => void;
};

scope.onmessage = ({ data: job }) => {
  const started = performance.now();
  try {
    // Room for incompressible input: zstd and deflate add well under 1% in the worst case.
    const chunkSize = job.input.byteLength + (job.input.byteLength >> 6) + 65536;
    const packed = job.kind === "zstd"
      ? zlib.zstdCompressSync(job.input, {
        chunkSize,
        params: { [zlib.constants.ZSTD_c_compressionLevel]: job.level },
      })
      : zlib.gzipSync(job.input, { chunkSize, level: job.level });
    const output = new Uint8Array(
      packed.buffer as ArrayBuffer,
      packed.byteOffset,
      packed.byteLength,
    );
    const busyMs = performance.now() - started;
    scope.postMessage({ id: job.id, output, input: job.input, busyMs }, [
      output.buffer as ArrayBuffer,
      job.input.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    scope.postMessage({ id: job.id, input: job.input, error: String(error) }, [
      job.input.buffer as ArrayBuffer,
    ]);
  }
};
