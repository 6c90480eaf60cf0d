/**
 * What a backup's snapshot (its catalog) holds in which volume, across the backups of its chain:
 * the file queries `forget` and `delete` use beside `volumesNeeded` (chain.ts). An incremental
 * backup's catalog records every file of its moment; a file it did not store itself points at a
 * volume row copied from an earlier backup of its chain (`volumes.backup_id` names that backup,
 * schema 4). In an older catalog, every volume is the backup's own.
 */
import type { Catalog } from "./catalog.ts";

/**
 * File states whose bytes a snapshot still counts on (`vanished`, `unreadable` and `deleted`
 * files were never stored, or are gone with their volume).
 */
const HELD_STATES = "('pending', 'stored', 'changed', 'missing')";

/** A file of a snapshot held in some volume: its path, its path in the volume, its size. */
export interface HeldFile {
  path: string;
  archivePath: string;
  size: number;
}

/**
 * The entries (files, folders, links) of the snapshot held in the volume stored at `objectKey`,
 * with their count and bytes, and the first `limit` of them (files before folders, as scanned).
 */
export function filesHeldIn(
  catalog: Catalog,
  objectKey: string,
  limit: number,
): { count: number; bytes: number; first: HeldFile[] } {
  const where = "FROM files f JOIN volumes v ON f.volume_id = v.id " +
    `WHERE v.object_key = ? AND f.state IN ${HELD_STATES}`;
  const total = catalog.db.prepare(
    `SELECT COUNT(*) AS count, COALESCE(SUM(f.size), 0) AS bytes ${where}`,
  ).get(objectKey) as { count: number; bytes: number };
  const first = (catalog.db.prepare(
    `SELECT f.path, f.archive_path, f.size ${where} ` +
      "ORDER BY f.type = 'directory', f.id LIMIT ?",
  ).all(objectKey, limit) as { path: string; archive_path: string; size: number }[])
    .map((r) => ({ path: r.path, archivePath: r.archive_path, size: r.size }));
  return { count: total.count, bytes: total.bytes, first };
}

/**
 * Every file of the snapshot held in the volume stored at `objectKey`, as archive path -> size,
 * one row at a time (for the dead-data sums of `forget`).
 */
export function* eachFileHeldIn(
  catalog: Catalog,
  objectKey: string,
): Generator<{ archivePath: string; size: number }> {
  for (
    const row of catalog.streamRows(
      "SELECT f.archive_path, f.size FROM files f JOIN volumes v ON f.volume_id = v.id " +
        `WHERE v.object_key = ? AND f.state IN ${HELD_STATES}`,
      objectKey,
    )
  ) yield { archivePath: row.archive_path as string, size: row.size as number };
}
