/**
 * Compression stages of the volume pipeline on `node:zlib` (zstd and gzip run natively, off the
 * main thread), exposed as Web `TransformStream`s.
 */
import { Duplex } from "node:stream";
import * as zlib from "node:zlib";
import { alignZstdFrames } from "./zstd_frames.ts";

/** Compression of the TAR stream inside a volume. */
export type Compression = "zstd" | "gzip" | "none";

/** zstd level used for volumes: the `zstd` command's default. */
export const ZSTD_LEVEL = 3;

/** A stream that compresses with `kind` ("none" passes bytes through unchanged). */
export function compressStream(kind: Compression): TransformStream<Uint8Array, Uint8Array> {
  switch (kind) {
    case "zstd":
      return toWeb(zlib.createZstdCompress({
        params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL },
      }));
    case "gzip":
      return toWeb(zlib.createGzip({ level: 6 }));
    case "none":
      return new TransformStream();
  }
}

/**
 * Size of the pieces decompressors emit. zlib's default, 16 KiB, made 52,000 pieces of the
 * 833 MB bench volume, each a stream step and, in a large restored file, one write; 1 MiB pieces
 * took the decode of that volume from 1.61 s to 1.46 s (one core, under load).
 */
const DECOMPRESS_CHUNK_BYTES = 1 << 20;

/**
 * A stream that decompresses data compressed with `kind`. zstd input is first cut at frame ends:
 * volumes hold many frames, and Deno's zstd decompressor loses its way when one write holds the
 * end of a frame and the start of the next (see zstd_frames.ts). `consumed` is called with each
 * input piece once the decompressor is done with it.
 */
export function decompressStream(
  kind: Compression,
  consumed?: (chunk: Uint8Array) => void,
): TransformStream<Uint8Array, Uint8Array> {
  switch (kind) {
    case "zstd": {
      const aligned = alignZstdFrames();
      const decompress = toWeb(
        zlib.createZstdDecompress({ chunkSize: DECOMPRESS_CHUNK_BYTES }),
        consumed,
      );
      aligned.readable.pipeTo(decompress.writable).catch(() => {});
      return { writable: aligned.writable, readable: decompress.readable };
    }
    case "gzip":
      return toWeb(zlib.createGunzip({ chunkSize: DECOMPRESS_CHUNK_BYTES }), consumed);
    case "none":
      return new TransformStream();
  }
}

/**
 * Wraps a zlib stream with real backpressure: each input chunk is handed over only when zlib has
 * taken the previous one, and the output queue is bounded by the readable side. (Node's
 * `Duplex.toWeb` reads its source eagerly, which let a fast producer fill memory.)
 */
function toWeb(
  zlibStream: Duplex,
  consumed?: (chunk: Uint8Array) => void,
): TransformStream<Uint8Array, Uint8Array> {
  let failure: Error | undefined;
  let output: TransformStreamDefaultController<Uint8Array>;
  zlibStream.on("data", (chunk: Uint8Array) => output.enqueue(chunk));
  zlibStream.on("error", (error: Error) => {
    failure = error;
  });
  const whenDone = (action: (done: (error?: Error | null) => void) => void) =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      const onError = (error: Error) => reject(error);
      zlibStream.once("error", onError);
      action((error) => {
        zlibStream.off("error", onError);
        if (error ?? failure) reject(error ?? failure);
        else resolve();
      });
    });
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      output = controller;
    },
    async transform(chunk) {
      await whenDone((done) => zlibStream.write(chunk, done));
      consumed?.(chunk);
    },
    flush() {
      return whenDone((done) => {
        zlibStream.once("end", () => done());
        zlibStream.end();
      });
    },
    cancel() {
      zlibStream.destroy();
    },
  });
}
