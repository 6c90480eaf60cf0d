/**
 * Which other backups still need some volumes: the ones `delete` is asked to delete. An
 * incremental backup's snapshot points at volumes of earlier backups of its chain, so deleting a
 * volume of one backup can take files from another. The other backups are known from the state
 * databases of the state folder and, for backups that have none there, from their catalog copies
 * in the bucket (bucket_snapshots.ts), opened with the chain's key.
 */
import { Catalog } from "../catalog/catalog.ts";
import { filesHeldIn } from "../catalog/snapshot_volumes.ts";
import type { Storage } from "../storage/storage.ts";
import { readBucketSnapshots, type UnreadableCopy } from "./bucket_snapshots.ts";
import { readStateFolder, sameArea } from "./state_folder.ts";

/** How many file names a dependent carries, to show. */
const SHOWN_FILES = 3;

/** Another backup that holds files in a volume to delete. */
export interface Dependent {
  backupId: string;
  /** The volume's object key. */
  objectKey: string;
  /** How many of its files the volume holds, and the first few paths. */
  files: number;
  paths: string[];
  /** True when known from the bucket's catalog copy (no state database in the folder). */
  fromBucket: boolean;
}

/** What `findDependents` found. */
export interface Dependents {
  dependents: Dependent[];
  /** Backups of the bucket whose catalog copy could not be read: their needs are unknown. */
  unknown: UnreadableCopy[];
}

/**
 * The other backups of the same bucket and prefix as `catalog` that hold files in the volumes at
 * `objectKeys`: from the state databases in `stateDir`, then from the bucket's catalog copies of
 * the backups that have none there.
 */
export async function findDependents(
  catalog: Catalog,
  objectKeys: string[],
  stateDir: string,
  storage: Storage,
): Promise<Dependents> {
  const settings = catalog.settings();
  const dependents: Dependent[] = [];
  const scan = (other: Catalog, backupId: string, fromBucket: boolean) => {
    for (const objectKey of objectKeys) {
      const held = filesHeldIn(other, objectKey, SHOWN_FILES);
      if (held.count === 0) continue;
      const paths = held.first.map((f) => f.path);
      dependents.push({ backupId, objectKey, files: held.count, paths, fromBucket });
    }
  };
  const local = (await readStateFolder(stateDir)).filter((e) => sameArea(e.settings, settings));
  for (const entry of local) {
    if (entry.backupId === settings.backupId) continue;
    const other = Catalog.open(entry.path, { readOnly: true });
    try {
      scan(other, entry.backupId, false);
    } finally {
      other.close();
    }
  }
  const identity = catalog.identity();
  const copies = await readBucketSnapshots({
    storage,
    prefix: settings.prefix,
    known: new Set([settings.backupId, ...local.map((e) => e.backupId)]),
    identities: identity ? [identity] : [],
    encrypted: catalog.recipients().length > 0,
  });
  try {
    for (const snapshot of copies.snapshots) scan(snapshot.catalog, snapshot.backupId, true);
  } finally {
    await copies.close();
  }
  return { dependents, unknown: copies.unreadable };
}
