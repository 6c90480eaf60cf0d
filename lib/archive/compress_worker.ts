/**
 * Worker side of `CompressorPool`: compresses one segment into one complete zstd frame or gzip
 * member (`compressSegment`). The frame and the segment are transferred (not copied) back, so
 * nothing is left for this isolate's garbage collector: the main thread frees both once it is
 * done with them.
 */
import type { SegmentJob, SegmentResult } from "./compress_pool.ts";
import { compressSegment } from "./compress_segment.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<SegmentJob>) => void;
  postMessage: (message: SegmentResult, transfer: ArrayBuffer[]) => void;
};

scope.onmessage = ({ data: job }) => {
  const started = performance.now();
  try {
    const output = compressSegment(job.kind, job.level, job.input);
    const busyMs = performance.now() - started;
    scope.postMessage({ id: job.id, output, input: job.input, busyMs }, [
      output.buffer,
      job.input.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    scope.postMessage({ id: job.id, input: job.input, error: String(error) }, [
      job.input.buffer as ArrayBuffer,
    ]);
  }
};
