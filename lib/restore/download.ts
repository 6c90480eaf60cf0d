/**
 * Downloads one volume to a local file in ranged requests, resumable: a file left by an
 * interrupted run is continued from its end (its bytes are hashed again first), and a connection
 * that breaks mid-range is picked up at the byte where it broke. The SHA-256 of the whole file is
 * compared with the catalog's before the caller may read a byte of it; on a mismatch the file is
 * deleted.
 */
import { createHash, type Hash } from "node:crypto";
import { abortableSleep, backoffDelay } from "../storage/retry.ts";
import { type Storage, StorageError } from "../storage/storage.ts";
import { freeWholeBuffer } from "../memory/buffer_release.ts";
import { writeAll } from "../storage/write_all.ts";
import { ChecksumError, hashMismatch } from "../archive/volume_check.ts";

export { ChecksumError };

/** Bytes asked for per GET request. */
export const DOWNLOAD_RANGE_BYTES = 64 * 1024 * 1024;

/** Inputs of `downloadVerified`. */
export interface DownloadOptions {
  storage: Storage;
  key: string;
  /** Expected size and SHA-256 (hex) from the catalog. */
  size: number;
  sha256: string;
  /** Local file to write (continued if it exists). */
  path: string;
  /** Bytes per ranged request (default `DOWNLOAD_RANGE_BYTES`). */
  rangeBytes?: number;
  /** Called with the number of bytes of the file now on disk. */
  onBytes?: (done: number) => void;
  /** Called before waiting to retry after a broken transfer. */
  onRetry?: (message: string, delayMs: number) => void;
  signal?: AbortSignal;
}

/** Downloads `key` to `path` and checks its size and SHA-256; throws `ChecksumError` if wrong. */
export async function downloadVerified(options: DownloadOptions): Promise<void> {
  const { storage, key, size, path } = options;
  const rangeBytes = options.rangeBytes ?? DOWNLOAD_RANGE_BYTES;
  const hash = createHash("sha256");
  let offset = await hashExisting(path, size, hash);
  options.onBytes?.(offset);
  const file = await Deno.open(path, { write: true, append: true, create: true, mode: 0o600 });
  try {
    let attempt = 0;
    while (offset < size) {
      options.signal?.throwIfAborted();
      const end = Math.min(offset + rangeBytes, size);
      const before = offset;
      try {
        const body = await storage.getObject(key, { start: offset, end });
        for await (const chunk of body) {
          if (offset + chunk.length > end) {
            throw new ChecksumError(`the server sent more of ${key} than was asked for`);
          }
          // The write runs on another thread while this one hashes the same (unchanged) bytes.
          const written = writeAll(file, chunk);
          hash.update(chunk);
          await written;
          offset += chunk.length;
          options.onBytes?.(offset);
          // Written and hashed: a chunk that is a whole buffer of its own is freed now, not when
          // V8 next collects (megabyte chunks piled up, tens of MiB of RSS).
          freeWholeBuffer(chunk);
        }
        if (offset < end) {
          throw new StorageError("transient", `download of ${key} ended early at byte ${offset}`);
        }
      } catch (error) {
        if (!(error instanceof StorageError) || error.kind !== "transient") throw error;
        attempt = offset > before ? 1 : attempt + 1;
        const delayMs = backoffDelay(attempt, {}, Math.random);
        options.onRetry?.(error.message, delayMs);
        await abortableSleep(delayMs, options.signal);
        continue;
      }
      attempt = 0;
    }
  } finally {
    file.close();
  }
  const digest = hash.digest("hex");
  if (digest !== options.sha256) {
    await Deno.remove(path).catch(() => {});
    throw hashMismatch(key, digest, options.sha256);
  }
}

/** Hashes the part of `path` already downloaded; returns its length (0, removing it, if too long). */
async function hashExisting(path: string, size: number, hash: Hash): Promise<number> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
  if (!info.isFile || info.size > size) {
    await Deno.remove(path);
    return 0;
  }
  let length = 0;
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) {
    hash.update(chunk);
    length += chunk.length;
  }
  return length;
}
