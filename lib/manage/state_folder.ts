/**
 * The backups a state folder knows: every `BACKUP_ID_backup_statedb.sqlite3` in it, read (never
 * written) for its settings and phase, grouped as `forget` applies its policy: by bucket, prefix
 * and source folders, the backups `backup --base latest` chains onto each other.
 */
import { join } from "node:path";
import { type BackupPhase, Catalog } from "../catalog/catalog.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { backupIdOfStateDbName } from "../archive/layout.ts";
import { errorLine, UsageError } from "../archive/errors.ts";

/** One state database of the folder. */
export interface StateDbEntry {
  path: string;
  backupId: string;
  settings: BackupSettings;
  phase: BackupPhase;
  /** The backup ids of its chain, oldest first, itself last (itself alone for a full backup). */
  chain: string[];
}

/** Backups of one bucket, prefix and set of source folders, oldest first. */
export interface BackupGroup {
  /** The bucket as stored (see `sameBucket`), the prefix and the source folders. */
  bucket: string;
  prefix: string;
  sourceDirs: string[];
  backups: StateDbEntry[];
}

/**
 * Reads every state database in `folder` (sorted by backup id). A file that is named as one but
 * cannot be read is a `UsageError`: what it needs from the bucket cannot be known.
 */
export async function readStateFolder(folder: string): Promise<StateDbEntry[]> {
  const entries: StateDbEntry[] = [];
  let listing: Deno.DirEntry[];
  try {
    listing = await Array.fromAsync(Deno.readDir(folder));
  } catch (error) {
    throw new UsageError(`cannot read the state folder ${folder}: ${errorLine(error)}`);
  }
  for (const item of listing) {
    const backupId = backupIdOfStateDbName(item.name);
    if (!item.isFile || !backupId) continue;
    const path = join(folder, item.name);
    let catalog: Catalog;
    try {
      catalog = Catalog.open(path, { readOnly: true });
    } catch (error) {
      throw new UsageError(
        `cannot read ${path} (${errorLine(error)}): move it out of the state folder or fix it`,
      );
    }
    try {
      const settings = catalog.settings();
      if (settings.backupId !== backupId) {
        throw new UsageError(`${path} holds backup ${settings.backupId}, not ${backupId}`);
      }
      const chain = catalog.chain().map((link) => link.backupId);
      entries.push({ path, backupId, settings, phase: catalog.phase(), chain });
    } finally {
      catalog.close();
    }
  }
  return entries.sort((a, b) => a.backupId < b.backupId ? -1 : a.backupId > b.backupId ? 1 : 0);
}

/** The bucket without the `s3://` scheme or trailing slashes, for comparing how it was written. */
export function bucketIdentity(bucket: string): string {
  const trimmed = bucket.trim().replace(/\/+$/, "");
  return /^s3:\/\//i.test(trimmed) ? trimmed.slice(5) : trimmed;
}

/** True when two settings name the same bucket and prefix (the same folder of backups). */
export function sameArea(
  a: Pick<BackupSettings, "bucket" | "prefix">,
  b: Pick<BackupSettings, "bucket" | "prefix">,
): boolean {
  return bucketIdentity(a.bucket) === bucketIdentity(b.bucket) && a.prefix === b.prefix;
}

/** Groups the entries by bucket, prefix and source folders, each group oldest first. */
export function groupBackups(entries: StateDbEntry[]): BackupGroup[] {
  const groups = new Map<string, BackupGroup>();
  for (const entry of entries) {
    const { bucket, prefix, sourceDirs } = entry.settings;
    const key = JSON.stringify([bucketIdentity(bucket), prefix, sourceDirs]);
    let group = groups.get(key);
    if (!group) {
      group = { bucket, prefix, sourceDirs, backups: [] };
      groups.set(key, group);
    }
    group.backups.push(entry);
  }
  return [...groups.values()];
}
