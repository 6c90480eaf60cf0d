/**
 * Multipart upload rules shared by every user of a `MultipartStorage`: how big the parts of an
 * object are (S3 allows at most 10,000 parts), and a one-shot upload of a local file in parts,
 * the way a multipart store implements `putFile`.
 */
import { type MultipartStorage, StorageError } from "./storage.ts";

const MiB = 1024 * 1024;
/** Part size for objects up to 160 GB; larger objects use bigger parts to stay under 10,000. */
export const DEFAULT_PART_SIZE = 16 * MiB;
const MAX_PARTS = 10_000;

/** The part size for an object of `size` bytes: 16 MiB, or more to keep within 10,000 parts. */
export function partSizeFor(size: number): number {
  const needed = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  return Math.max(DEFAULT_PART_SIZE, needed);
}

/**
 * `putFile` of a multipart store: a file of up to one part goes up in one PutObject; a larger one
 * as a multipart upload through `storage`, aborted if anything fails (nothing is resumed: the
 * next call starts afresh). Each request goes through `storage`, so a retrying store retries
 * each part on its own. A missing local file is a permanent error.
 */
export async function putFileInParts(
  storage: MultipartStorage,
  key: string,
  path: string,
  storageClass: string,
): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    const message = `upload of ${JSON.stringify(key)} failed: ${path} is gone`;
    throw new StorageError("permanent", message, { cause: error });
  }
  try {
    const size = (await file.stat()).size;
    const partSize = partSizeFor(size);
    if (size <= partSize) {
      await storage.putObject(
        key,
        await readExactly(file, new Uint8Array(size), path),
        storageClass,
      );
      return;
    }
    const uploadId = await storage.createMultipartUpload(key, storageClass);
    try {
      const parts: { partNumber: number; etag: string }[] = [];
      for (let offset = 0, partNumber = 1; offset < size; offset += partSize, partNumber++) {
        const body = await readExactly(
          file,
          new Uint8Array(Math.min(partSize, size - offset)),
          path,
        );
        parts.push({ partNumber, etag: await storage.uploadPart(key, uploadId, partNumber, body) });
      }
      await storage.completeMultipartUpload(key, uploadId, parts);
    } catch (error) {
      await storage.abortMultipartUpload(key, uploadId).catch(() => {});
      throw error;
    }
  } finally {
    file.close();
  }
}

/** Fills `buffer` from the file's current position. */
async function readExactly(
  file: Deno.FsFile,
  buffer: Uint8Array,
  path: string,
): Promise<Uint8Array> {
  let filled = 0;
  while (filled < buffer.length) {
    const read = await file.read(buffer.subarray(filled));
    if (read === null) throw new Error(`${path} shrank while it was uploaded`);
    filled += read;
  }
  return buffer;
}
