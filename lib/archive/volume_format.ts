/**
 * The volume format, in one place: a volume is a TAR stream, compressed (zstd, gzip or none),
 * then age-encrypted (or not). `encodeVolume` turns TAR bytes into volume bytes and
 * `decodeVolume` turns them back; both are Web Streams, so callers add their own source, sink
 * and checksums (the backup hashes the bytes it writes, verify the bytes it reads).
 */
import { createDecryptStream, createEncryptStream } from "../crypto/age.ts";
import { freeingInputs, SequentialRelease } from "../memory/buffer_release.ts";
import { type Compression, compressStream, decompressStream } from "./compress.ts";
import { parallelCompressStream, type SegmentCompressor } from "./compress_pool.ts";

/** How a backup's volumes are encoded (from its settings). */
export interface VolumeFormat {
  compression: Compression;
  encrypt: boolean;
}

/** What encoding needs beside the format. */
export interface EncodeOptions {
  /** age recipients (used when the format encrypts). */
  recipients: string[];
  /**
   * Where segments are compressed, each into a frame of its own (worker threads, or this thread);
   * without, one stream on this thread.
   */
  pool?: SegmentCompressor;
}

/**
 * TAR bytes -> volume bytes: compression (in parallel frames on `options.pool` when given), then
 * age encryption. Stages that copy their input free each input buffer once taken; "none"
 * passes chunks on untouched.
 */
export function encodeVolume(
  tar: ReadableStream<Uint8Array>,
  format: VolumeFormat,
  options: EncodeOptions,
): ReadableStream<Uint8Array> {
  let stream = compressTar(tar, format.compression, options.pool);
  if (format.encrypt) {
    stream = stream.pipeThrough(freeingInputs(createEncryptStream(options.recipients)));
  }
  return stream;
}

/**
 * TAR bytes -> compressed TAR bytes, the inner layer of a volume (in parallel frames on `pool`
 * when given: each frame then comes in a buffer of its own). A volume build adds the outer
 * layer, age encryption, as it writes the file (lib/archive/volume_file.ts).
 */
export function compressTar(
  tar: ReadableStream<Uint8Array>,
  compression: Compression,
  pool?: SegmentCompressor,
): ReadableStream<Uint8Array> {
  if (compression === "none") return tar;
  return tar.pipeThrough(freeingInputs(
    pool ? parallelCompressStream(pool, compression) : compressStream(compression),
  ));
}

/**
 * Volume bytes -> TAR bytes: age decryption with `identities` (every chunk authenticated, an
 * `AgeError` otherwise), then decompression (zstd frame by frame, see zstd_frames.ts).
 * `ownInput`: the caller hands over `volume`'s chunks, each in a buffer of its own (as the
 * decoding worker's reads are), for this pipeline to free once read.
 */
export function decodeVolume(
  volume: ReadableStream<Uint8Array>,
  format: VolumeFormat,
  identities: string[],
  { ownInput = false } = {},
): ReadableStream<Uint8Array> {
  let stream = format.encrypt ? decryptVolume(volume, identities) : volume;
  if (format.compression !== "none") {
    // The decryptor's output is this pipeline's own, written front to back: each of its buffers
    // is freed once the decompressor has moved past it (GC left ~60 MiB of them in the way).
    // So are the caller's chunks without encryption, when handed over; else they are left alone.
    const spent = format.encrypt || ownInput ? new SequentialRelease() : undefined;
    stream = stream.pipeThrough(
      decompressStream(format.compression, spent && ((chunk) => spent.consumed(chunk))),
    );
  }
  return stream;
}

/**
 * Volume bytes -> the volume without its age layer (compressed TAR), as `glacier decrypt`
 * leaves it for the user's own `tar` and `zstd`.
 */
export function decryptVolume(
  volume: ReadableStream<Uint8Array>,
  identities: string[],
): ReadableStream<Uint8Array> {
  // The decryptor copies or opens each input chunk before it returns: the chunk can go at once.
  return volume.pipeThrough(freeingInputs(createDecryptStream(identities)));
}
