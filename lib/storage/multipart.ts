/**
 * A one-shot upload of a local file in parts, the way a multipart store implements `putFile`
 * (the part size rule is part_size.ts).
 */
import { type CompletedPart, type MultipartStorage, StorageError } from "./storage.ts";
import { partSizeFor } from "./part_size.ts";
import { partDigest } from "./part_digest.ts";

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
    const checksum = await storage.partChecksum();
    const uploadId = await storage.createMultipartUpload(key, storageClass);
    try {
      const parts: CompletedPart[] = [];
      for (let offset = 0, partNumber = 1; offset < size; offset += partSize, partNumber++) {
        const body = await readExactly(
          file,
          new Uint8Array(Math.min(partSize, size - offset)),
          path,
        );
        // Created for CRC32 parts, the upload's completion names each part's CRC32.
        const digest = partDigest(checksum, body);
        const { etag } = await storage.uploadPart(key, uploadId, partNumber, body, digest);
        parts.push({ partNumber, etag, ...("crc32" in digest ? { crc32: digest.crc32 } : {}) });
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
