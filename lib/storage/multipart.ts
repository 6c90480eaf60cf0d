/**
 * A one-shot upload of a local file in parts, the way a multipart store implements `putFile`
 * (the part size rule is part_size.ts).
 */
import { type MultipartStorage, StorageError } from "./storage.ts";
import { partSizeFor } from "./part_size.ts";

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
        const { etag } = await storage.uploadPart(key, uploadId, partNumber, body);
        parts.push({ partNumber, etag });
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
