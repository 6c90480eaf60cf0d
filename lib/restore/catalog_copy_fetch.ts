/**
 * Gets a backup's catalog back from the copy in its bucket (see lib/backup/catalog_copy.ts), for
 * a restore without the local state database: downloads `[PREFIX/]BACKUP_ID/catalog.sqlite3.age`
 * (or the plain `catalog.sqlite3` of an unencrypted backup), decrypts it with the user's identity
 * and saves it as `BACKUP_ID_backup_statedb.sqlite3` in the state folder. When that file is
 * already there from an earlier run for the same backup, it is used as it is: it holds the
 * restore's progress.
 */
import { join } from "node:path";
import { Catalog, CatalogError } from "../catalog/catalog.ts";
import { catalogCopyKey, stateDbName } from "../archive/layout.ts";
import { restrictToOwner } from "../storage/owner_only.ts";
import { AgeError, createDecryptStream, NoMatchingIdentityError } from "../crypto/age.ts";
import { errorLine, UsageError } from "../archive/errors.ts";
import { exists } from "../storage/exists.ts";
import { abortableSleep, backoffDelay } from "../storage/retry.ts";
import { type Storage, StorageError } from "../storage/storage.ts";

/** Inputs of `fetchCatalogCopy`. */
export interface FetchCatalogOptions {
  storage: Storage;
  backupId: string;
  prefix: string;
  /** age identities to decrypt the copy with. */
  identities: string[];
  /** Folder the state database is saved in. */
  stateDir: string;
  signal?: AbortSignal;
}

/** Whole-download attempts when the connection breaks mid-transfer. */
const ATTEMPTS = 5;

/**
 * The path of a local state database for the backup: the one saved by an earlier run, or a new
 * one made from the bucket's copy. `downloaded` tells which; `notOwnerOnly`, why a new one could
 * not be limited to its owner (Windows, see owner_only.ts).
 */
export async function fetchCatalogCopy(
  options: FetchCatalogOptions,
): Promise<{ path: string; downloaded: boolean; notOwnerOnly?: string }> {
  const { storage, backupId } = options;
  const path = join(options.stateDir, stateDbName(backupId));
  if (await exists(path)) {
    checkCatalog(path, backupId, `${path} exists but`, (message) => new UsageError(message));
    return { path, downloaded: false };
  }
  const settings = { prefix: options.prefix, backupId };
  let key = catalogCopyKey(settings, true);
  let encrypted = true;
  if (!(await storage.headObject(key))) {
    const plainKey = catalogCopyKey(settings, false);
    if (!(await storage.headObject(plainKey))) {
      throw new UsageError(
        `no catalog copy of backup ${backupId} in ${storage.description} (looked for ${key}): ` +
          "check --backup-id and --prefix",
      );
    }
    key = plainKey;
    encrypted = false;
  }
  if (encrypted && options.identities.length === 0) {
    throw new UsageError(
      "the catalog copy is encrypted: give --identity FILE (the key `glacier key export` " +
        "printed, or your own for backups made with --recipient)",
    );
  }
  const partial = `${path}.partial`;
  let notOwnerOnly: string | undefined;
  try {
    await downloadCatalogCopy(storage, key, partial, {
      identities: encrypted ? options.identities : undefined,
      backupId,
      signal: options.signal,
    });
    notOwnerOnly = restrictToOwner(partial);
    await Deno.rename(partial, path);
  } finally {
    await Deno.remove(partial).catch(() => {});
  }
  return { path, downloaded: true, ...(notOwnerOnly ? { notOwnerOnly } : {}) };
}

/** The catalog copy in the bucket is damaged or is not this backup's (exit code 3). */
export class DamagedCatalogCopyError extends Error {
  override name = "DamagedCatalogCopyError";
}

/**
 * Downloads the catalog copy `key` to the new file `target` (mode 0600), decrypted with
 * `identities` when given, and checks that it is a state database of backup `backupId`. Throws a
 * `DamagedCatalogCopyError` naming the object when it fails age authentication or SQLite's checks
 * or belongs to another backup, a `UsageError` when none of the identities opens it (wrong key),
 * and a `StorageError` when the bucket fails (a broken transfer is tried again a few times).
 */
export async function downloadCatalogCopy(
  storage: Storage,
  key: string,
  target: string,
  options: { identities?: string[]; backupId: string; signal?: AbortSignal },
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await download(storage, key, target, options.identities);
      break;
    } catch (error) {
      if (error instanceof NoMatchingIdentityError) {
        throw new UsageError(`cannot decrypt the catalog copy ${key}: ${error.message}`);
      }
      if (error instanceof AgeError) {
        throw new DamagedCatalogCopyError(`the catalog copy ${key} is damaged: ${error.message}`);
      }
      if (!(error instanceof StorageError) || error.kind !== "transient") throw error;
      if (attempt >= ATTEMPTS) throw error;
      await abortableSleep(backoffDelay(attempt, {}, Math.random), options.signal);
    }
  }
  checkCatalog(
    target,
    options.backupId,
    `the catalog copy ${key}`,
    (message) => new DamagedCatalogCopyError(message),
  );
}

async function download(
  storage: Storage,
  key: string,
  target: string,
  identities: string[] | undefined,
): Promise<void> {
  await Deno.remove(target).catch(() => {});
  let body = await storage.getObject(key);
  if (identities) body = body.pipeThrough(createDecryptStream(identities));
  const file = await Deno.open(target, { write: true, createNew: true, mode: 0o600 });
  await body.pipeTo(file.writable);
}

/** Throws `fail(why)` unless `path` is a readable catalog of backup `backupId`. */
function checkCatalog(
  path: string,
  backupId: string,
  what: string,
  fail: (message: string) => Error,
): void {
  let catalog: Catalog;
  try {
    catalog = Catalog.open(path, { readOnly: true });
  } catch (error) {
    if (error instanceof CatalogError) {
      throw fail(`${what} is not a usable state database: ${error.message}`);
    }
    throw error;
  }
  try {
    let found: string;
    try {
      found = catalog.settings().backupId;
    } catch (error) {
      throw fail(`${what} is not a usable state database: ${errorLine(error)}`);
    }
    if (found !== backupId) throw fail(`${what} belongs to backup ${found}, not ${backupId}`);
  } finally {
    catalog.close();
  }
}
