/**
 * Read-only queries behind `glacier verify`'s check of the catalog against itself: SQLite's own
 * integrity check and the files that sit outside their volumes. The queries stream, so a catalog
 * of a million files is checked in bounded memory.
 */
import type { Catalog, Row } from "./catalog.ts";

/** What SQLite's integrity check reports other than "ok" (at most `limit` lines). */
export function integrityDamage(catalog: Catalog, limit: number): string[] {
  const rows = catalog.db.prepare(`PRAGMA integrity_check(${Math.trunc(limit)})`).all() as {
    integrity_check: string;
  }[];
  return rows.map((row) => row.integrity_check).filter((text) => text !== "ok");
}

/** How many entries the catalog records. */
export function fileCount(catalog: Catalog): number {
  return Number((catalog.db.prepare("SELECT COUNT(*) AS n FROM files").get() as Row).n);
}

/** A file that is not where its volume says, with that volume's id or name. */
export interface MisplacedFile {
  path: string;
  volumeId: number | null;
  volumeName: string | null;
}

/** Files in no existing volume. */
export function filesInNoVolume(catalog: Catalog): Generator<MisplacedFile> {
  return misplaced(
    catalog,
    "SELECT f.path, f.volume_id, NULL AS name FROM files f WHERE f.volume_id IS NULL OR NOT " +
      "EXISTS (SELECT 1 FROM volumes v WHERE v.id = f.volume_id) ORDER BY f.id",
  );
}

/**
 * Files outside the file-id range of their volume (a volume an earlier backup of the chain holds
 * has no range in this catalog).
 */
export function filesOutsideTheirRange(catalog: Catalog): Generator<MisplacedFile> {
  return misplaced(
    catalog,
    "SELECT f.path, f.volume_id, v.name FROM files f JOIN volumes v ON v.id = f.volume_id " +
      "WHERE v.backup_id IS NULL AND (f.id < v.first_file_id OR f.id > v.last_file_id) " +
      "ORDER BY f.id",
  );
}

/** Files of uploaded volumes never recorded as packed (still `pending`). */
export function unpackedFilesOfUploadedVolumes(catalog: Catalog): Generator<MisplacedFile> {
  return misplaced(
    catalog,
    "SELECT f.path, f.volume_id, v.name FROM files f JOIN volumes v ON v.id = f.volume_id " +
      "WHERE v.state = 'uploaded' AND f.state = 'pending' ORDER BY f.id",
  );
}

function* misplaced(catalog: Catalog, sql: string): Generator<MisplacedFile> {
  for (const row of catalog.db.prepare(sql).iterate() as Iterable<Row>) {
    yield {
      path: String(row.path),
      volumeId: row.volume_id as number | null,
      volumeName: row.name === null ? null : String(row.name),
    };
  }
}
