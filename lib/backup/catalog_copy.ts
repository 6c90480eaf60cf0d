/**
 * The catalog copy kept in the bucket, `[PREFIX/]BACKUP_ID/catalog.sqlite3.age` in STANDARD
 * class, so that a lost laptop does not mean a lost index: a consistent snapshot of the catalog
 * (its file as it lies once checkpointed, or else a compacted `VACUUM INTO` copy), encrypted
 * with age to the backup's recipients. The snapshot keeps the backup's own identity when it has
 * one, so opening the copy takes that identity (`glacier key export`) or, for `--recipient`
 * backups, the user's own key. An unencrypted backup holds no key at all; its copy is stored as
 * plain `catalog.sqlite3`, like its volumes. A catalog holding a secret key is never uploaded
 * unencrypted.
 */
import { dirname, join, resolve } from "node:path";
import type { Catalog } from "../catalog/catalog.ts";
import { catalogCopyKey } from "../archive/layout.ts";
import { VolumeFileOutput } from "../archive/volume_file.ts";
import type { Storage } from "../storage/storage.ts";
import { readFull } from "../storage/read_full.ts";

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
    const upload = encrypted ? sealed : snapshot;
    // The catalog's own file, checkpointed, is a consistent snapshot already: it is copied (and
    // sealed) as it lies, without VACUUM INTO's copy of it first (0.2 s for 300,000 files).
    let source = catalog.checkpointedFile();
    if (source === undefined) {
      await writeSnapshot(catalog, snapshot);
      source = snapshot;
    }
    if (source !== upload) await copyDatabase(source, upload, encrypted ? recipients : undefined);
    // Not resumable, and need not be: a copy cut short is made and put again in whole.
    await storage.putFile(catalogCopyKey(settings, encrypted), upload, "STANDARD");
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

/**
 * Copies the database file `source` into the new file `target` (mode 0600), encrypted to
 * `recipients` when given, 1 MiB at a time, freeing each buffer once written: left to the garbage
 * collector, a catalog of 300,000 files (91 MB) piled up ~30 MiB of spent buffers. The copy is
 * in rollback-journal mode, as VACUUM INTO's are: a file in WAL mode (the catalog's own) could
 * only be opened beside a `-shm` file, which a read-only folder cannot hold.
 */
async function copyDatabase(
  source: string,
  target: string,
  recipients: string[] | undefined,
): Promise<void> {
  await Deno.remove(target).catch(() => {});
  // Its SHA-256 is not needed: the copy is checked by its decryption and by SQLite.
  const output = await VolumeFileOutput.create(target, { recipients, hashed: false });
  const input = await Deno.open(source, { read: true });
  try {
    for (let first = true;; first = false) {
      const buffer = new Uint8Array(READ_BYTES);
      const read = await readFull(input, buffer);
      if (read === 0) break;
      if (first) rollbackJournalMode(buffer.subarray(0, read));
      await output.write(buffer.subarray(0, read));
    }
    await output.close();
  } catch (error) {
    output.abandon();
    throw error;
  } finally {
    input.close();
  }
}

/** Bytes read from the snapshot at a time. */
const READ_BYTES = 1 << 20;

/**
 * Sets the file format's read and write versions (bytes 18 and 19 of the database header) of a
 * database's first bytes to 1, rollback journal, from 2, WAL.
 */
function rollbackJournalMode(head: Uint8Array): void {
  if (head.length < HEADER_BYTES) throw new Error("the state database is shorter than its header");
  head[18] = 1;
  head[19] = 1;
}

/** Bytes of an SQLite database header. */
const HEADER_BYTES = 100;
