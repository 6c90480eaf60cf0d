/**
 * The backups of a bucket that no local state database describes (made on another machine, or
 * whose state database was lost): their catalog copies, downloaded and decrypted with the key of a
 * chain, say which volumes they need. A chain shares one key, so a copy that this key does not
 * open belongs to another chain and needs none of its volumes. A copy that cannot be read for
 * another reason (damaged, or encrypted to `--recipient` keys with no identity here) leaves the
 * question open: the caller decides how careful to be.
 */
import { join } from "node:path";
import { Catalog } from "../catalog/catalog.ts";
import { isForgotten } from "../catalog/forgotten.ts";
import {
  CATALOG_COPY_NAME,
  isCatalogCopyName,
  objectKey,
  parseBucketKey,
  prefixFolderKey,
} from "../archive/layout.ts";
import { errorLine, UsageError } from "../archive/errors.ts";
import type { Storage } from "../storage/storage.ts";
import { DamagedCatalogCopyError, downloadCatalogCopy } from "../restore/catalog_copy_fetch.ts";

/** A backup known from its catalog copy only. */
export interface BucketSnapshot {
  backupId: string;
  /** The downloaded copy, open read-only. */
  catalog: Catalog;
}

/** A catalog copy that could not be read, and why. */
export interface UnreadableCopy {
  backupId: string;
  reason: string;
}

/** What the bucket's catalog copies told; `close` closes and removes the downloads. */
export interface BucketSnapshots {
  snapshots: BucketSnapshot[];
  /** Copies of forgotten backups kept as links of a chain (not backups anyone keeps). */
  forgottenLinks: { backupId: string; key: string }[];
  /** Copies the key does not open: backups of other chains. */
  otherChains: string[];
  /** Copies that could not be read at all: which volumes they need is unknown. */
  unreadable: UnreadableCopy[];
  close(): Promise<void>;
}

/** Which copies `readBucketSnapshots` reads. */
export interface SnapshotQuery {
  storage: Storage;
  prefix: string;
  /** Backups described by local state databases: their copies are not read. */
  known: Set<string>;
  /** age identities of the chain(s), to open encrypted copies. */
  identities: string[];
  /**
   * False when no chain asked about is encrypted: an encrypted copy then belongs to another
   * chain (a chain shares one key), and is not read.
   */
  encrypted: boolean;
  /** Only backups with a later id than this one (a chain only points at earlier backups). */
  after?: string;
}

/** Downloads and opens the catalog copies of the bucket's backups that are not `known`. */
export async function readBucketSnapshots(query: SnapshotQuery): Promise<BucketSnapshots> {
  const copies = new Map<string, string>();
  for await (const object of query.storage.listObjects(prefixFolderKey(query.prefix))) {
    const key = parseBucketKey(object.key, query.prefix);
    if (!key || !isCatalogCopyName(key.name) || query.known.has(key.backupId)) continue;
    if (query.after !== undefined && key.backupId <= query.after) continue;
    // An encrypted copy wins over a plain one of the same backup.
    if (copies.get(key.backupId) !== CATALOG_COPY_NAME) copies.set(key.backupId, key.name);
  }
  const folder = await Deno.makeTempDir({ prefix: "glacier-copies-" });
  const result: BucketSnapshots = {
    snapshots: [],
    forgottenLinks: [],
    otherChains: [],
    unreadable: [],
    close: async () => {
      for (const snapshot of result.snapshots) snapshot.catalog.close();
      await Deno.remove(folder, { recursive: true }).catch(() => {});
    },
  };
  try {
    for (const [backupId, name] of [...copies].sort()) {
      const encrypted = name === CATALOG_COPY_NAME;
      if (encrypted && !query.encrypted) {
        result.otherChains.push(backupId);
        continue;
      }
      if (encrypted && query.identities.length === 0) {
        result.unreadable.push({
          backupId,
          reason: "it is encrypted to --recipient keys, and no identity is at hand",
        });
        continue;
      }
      const target = join(folder, `${backupId}.sqlite3`);
      const key = objectKey({ prefix: query.prefix, backupId }, name);
      try {
        await downloadCatalogCopy(query.storage, key, target, {
          identities: encrypted ? query.identities : undefined,
          backupId,
        });
        const catalog = Catalog.open(target, { readOnly: true });
        if (isForgotten(catalog)) {
          catalog.close();
          result.forgottenLinks.push({ backupId, key });
        } else result.snapshots.push({ backupId, catalog });
      } catch (error) {
        if (error instanceof UsageError) result.otherChains.push(backupId);
        else if (error instanceof DamagedCatalogCopyError) {
          result.unreadable.push({ backupId, reason: errorLine(error) });
        } else throw error;
      }
    }
  } catch (error) {
    await result.close();
    throw error;
  }
  return result;
}
