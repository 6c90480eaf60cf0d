/**
 * The catalog copy kept in the bucket, `[PREFIX/]BACKUP_ID/catalog.sqlite3.age` in STANDARD
 * class, so that a lost laptop does not mean a lost index: a consistent snapshot (`VACUUM INTO`)
 * of the catalog, encrypted with age to the backup's recipients. The snapshot keeps the backup's
 * own identity when it has one, so opening the copy takes that identity (`glacier key export`)
 * or, for `--recipient` backups, the user's own key. An unencrypted backup holds no key at all;
 * its copy is stored as plain `catalog.sqlite3`, like its volumes. A catalog holding a secret
 * key is never uploaded unencrypted.
 */
import { dirname, join, resolve } from "node:path";
import type { Catalog } from "../catalog/catalog.ts";
import { catalogCopyKey } from "../archive/layout.ts";
import { createEncryptStream } from "../crypto/age.ts";
import type { Storage } from "../storage/storage.ts";
import { partSizeFor } from "../storage/part_size.ts";

/** Copies up to this size go up in one PutObject; larger ones as a multipart upload. */
const SINGLE_PUT_LIMIT = 16 * 1024 * 1024;

/** Uploads a snapshot of the catalog to the bucket (encrypted when the backup is). */
export async function uploadCatalogCopy(catalog: Catalog, storage: Storage): Promise<void> {
  const settings = catalog.settings();
  const recipients = catalog.recipients();
  const encrypted = recipients.length > 0;
  if (!encrypted && catalog.identity() !== undefined) {
    throw new Error("the catalog holds a secret key but no recipient: refusing to upload it");
  }
  const base = join(dirname(resolve(catalog.path)), `.${settings.backupId}-catalog-copy`);
  const snapshot = `${base}.sqlite3`;
  const sealed = `${snapshot}.age`;
  try {
    await writeSnapshot(catalog, snapshot);
    let upload = snapshot;
    if (encrypted) {
      await encryptFile(snapshot, sealed, recipients);
      upload = sealed;
    }
    await putFileObject(storage, catalogCopyKey(settings, encrypted), upload);
  } finally {
    await Deno.remove(snapshot).catch(() => {});
    await Deno.remove(sealed).catch(() => {});
  }
}

/** Writes a consistent copy of the catalog to `path` (mode 0600; it may hold the key). */
async function writeSnapshot(catalog: Catalog, path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
  await Deno.writeFile(path, new Uint8Array(0), { createNew: true, mode: 0o600 });
  catalog.copyTo(path);
}

async function encryptFile(source: string, target: string, recipients: string[]): Promise<void> {
  await Deno.remove(target).catch(() => {});
  const input = await Deno.open(source, { read: true });
  const output = await Deno.open(target, { write: true, createNew: true, mode: 0o600 });
  await input.readable.pipeThrough(createEncryptStream(recipients)).pipeTo(output.writable);
}

/** Stores the file at `path` as `key` in STANDARD class, in one request or in parts. */
async function putFileObject(storage: Storage, key: string, path: string): Promise<void> {
  const size = (await Deno.stat(path)).size;
  if (size <= SINGLE_PUT_LIMIT) {
    await storage.putObject(key, await Deno.readFile(path), "STANDARD");
    return;
  }
  if (storage.putFile) {
    await storage.putFile(key, path, "STANDARD");
    return;
  }
  const partSize = partSizeFor(size);
  const uploadId = await storage.createMultipartUpload(key, "STANDARD");
  const file = await Deno.open(path, { read: true });
  try {
    const parts: { partNumber: number; etag: string }[] = [];
    for (let offset = 0, partNumber = 1; offset < size; offset += partSize, partNumber++) {
      const body = new Uint8Array(Math.min(partSize, size - offset));
      let filled = 0;
      while (filled < body.length) {
        const read = await file.read(body.subarray(filled));
        if (read === null) throw new Error(`${path} shrank while it was uploaded`);
        filled += read;
      }
      parts.push({ partNumber, etag: await storage.uploadPart(key, uploadId, partNumber, body) });
    }
    await storage.completeMultipartUpload(key, uploadId, parts);
  } catch (error) {
    await storage.abortMultipartUpload(key, uploadId).catch(() => {});
    throw error;
  } finally {
    file.close();
  }
}
