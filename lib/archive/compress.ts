/**
 * Compression stages of the volume pipeline on `node:zlib` (zstd and gzip run natively, off the
 * main thread), exposed as Web `TransformStream`s.
 */
import { Duplex } from "node:stream";
import * as zlib from "node:zlib";
import type { Compression } from "../catalog/settings.ts";

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

/** A stream that decompresses data compressed with `kind`. */
export function decompressStream(kind: Compression): TransformStream<Uint8Array, Uint8Array> {
  switch (kind) {
    case "zstd":
      return toWeb(zlib.createZstdDecompress());
    case "gzip":
      return toWeb(zlib.createGunzip());
    case "none":
      return new TransformStream();
  }
}

function toWeb(duplex: Duplex): TransformStream<Uint8Array, Uint8Array> {
  return Duplex.toWeb(duplex) as unknown as TransformStream<Uint8Array, Uint8Array>;
}
