/**
 * Read-only queries behind `glacier show`: the file listing and the per-folder sums, both
 * streamed row by row from SQLite (a catalog may hold millions of files), and the totals of the
 * header; and the files whose data a volume holds, which `glacier estimate` selects from.
 */
import {
  type Catalog,
  fileFromRow,
  type FileRecord,
  type FileState,
  fileStateSql,
  type VolumeState,
} from "./catalog.ts";

/** One entry of the listing: the file as recorded, with the name of the volume that holds it. */
export interface ListedFile extends FileRecord {
  volumeName: string | null;
  /** The backup (of an incremental's chain) whose volume holds the file, if in a volume. */
  backupId: string | null;
}

/** A file whose data is in a volume, as an estimate of a restore selects it. */
export interface HeldFile {
  archivePath: string;
  size: number;
  volumeId: number;
}

/** File states whose data is in a volume (others were never stored, or were deleted). */
const HELD_STATES = "('pending', 'stored', 'changed')";

/** Streams the files whose data is in a volume, in id order. */
export function* heldFiles(catalog: Catalog): Generator<HeldFile> {
  const rows = catalog.streamRows(
    "SELECT archive_path, size, volume_id FROM files " +
      `WHERE volume_id IS NOT NULL AND state IN ${HELD_STATES} ORDER BY id`,
  );
  for (const r of rows) {
    yield {
      archivePath: r.archive_path as string,
      size: r.size as number,
      volumeId: r.volume_id as number,
    };
  }
}

/** The sums of one folder (the first N levels of the archive paths below it). */
export interface FolderTotal {
  /** Archive path of the folder, e.g. `home/me/docs` (`.` for entries at the top level). */
  folder: string;
  /** Regular files (folders and symlinks are not counted). */
  files: number;
  bytes: number;
  /** Of `files`, those not (or no longer) stored: pending, vanished, unreadable, missing, deleted. */
  notStored: number;
}

/** Count and bytes of the volumes in one state. */
export interface VolumeTotal {
  state: VolumeState;
  count: number;
  /** Stored bytes, or the planned TAR bytes of volumes not built yet. */
  bytes: number;
}

/** File states whose bytes are in a volume that is (or should be) in the bucket. */
export const STORED_STATES: readonly FileState[] = ["stored", "changed"];

/** Name of the SQL function that cuts an archive path down to its folder prefix. */
const FOLDER_PREFIX_FUNCTION = "glacier_folder_prefix";

/** Every file, folder and symlink of the catalog in id (scan) order, read one row at a time. */
export function* listFiles(catalog: Catalog): Generator<ListedFile> {
  const rows = catalog.streamRows(
    `SELECT f.*, ${fileStateSql("f")} AS seen_state, v.name AS volume_name, ` +
      "v.backup_id AS volume_backup_id FROM files f LEFT JOIN volumes v ON v.id = f.volume_id " +
      "ORDER BY f.id",
  );
  const own = catalog.settings().backupId;
  for (const r of rows) {
    const volumeName = r.volume_name as string | null;
    const backupId = volumeName === null ? null : (r.volume_backup_id as string | null) ?? own;
    yield { ...fileFromRow(r), state: r.seen_state as FileState, volumeName, backupId };
  }
}

/**
 * The folder an entry is summed under: the first `depth` levels of the folder that holds it
 * (`home/me/docs/a/b.txt` at depth 3 is `home/me/docs`, at depth 9 `home/me/docs/a`).
 */
export function folderPrefix(archivePath: string, depth: number): string {
  const folders = archivePath.split("/").slice(0, -1);
  const prefix = folders.slice(0, depth).join("/");
  return prefix === "" ? "." : prefix;
}

/**
 * Files and bytes summed by folder (`folderPrefix` at `depth`), in folder order. SQLite groups
 * (in its own memory and temp files), so this streams even for a million distinct folders.
 */
export function* collateByFolder(catalog: Catalog, depth: number): Generator<FolderTotal> {
  catalog.db.function(
    FOLDER_PREFIX_FUNCTION,
    { deterministic: true },
    (path, levels) => folderPrefix(String(path), Number(levels)),
  );
  const stored = STORED_STATES.map((s) => `'${s}'`).join(", ");
  const rows = catalog.streamRows(
    `SELECT ${FOLDER_PREFIX_FUNCTION}(archive_path, ?) AS folder, COUNT(*) AS files, ` +
      `COALESCE(SUM(size), 0) AS bytes, SUM(${fileStateSql()} NOT IN (${stored})) AS not_stored ` +
      "FROM files WHERE type = 'file' GROUP BY folder ORDER BY folder",
    depth,
  );
  for (const r of rows) {
    yield {
      folder: r.folder as string,
      files: r.files as number,
      bytes: r.bytes as number,
      notStored: r.not_stored as number,
    };
  }
}

/** Count and bytes of the volumes by state (states without volumes are left out). */
export function volumeTotals(catalog: Catalog): VolumeTotal[] {
  const rows = catalog.db.prepare(
    "SELECT state, COUNT(*) AS count, COALESCE(SUM(COALESCE(size, planned_bytes)), 0) AS bytes " +
      "FROM volumes GROUP BY state",
  ).all() as Record<string, unknown>[];
  return rows.map((r) => ({
    state: r.state as VolumeState,
    count: r.count as number,
    bytes: r.bytes as number,
  }));
}

/** The length of the longest volume name (for aligning the listing), 0 without volumes. */
export function longestVolumeName(catalog: Catalog): number {
  const row = catalog.db.prepare("SELECT MAX(LENGTH(name)) AS n FROM volumes").get() as {
    n: number | null;
  };
  return row.n ?? 0;
}
