/**
 * The restore side of the catalog: thaw requests sent for volumes (shared by every restore of
 * the backup, so that none is sent twice) and restore jobs, one per destination folder and file
 * selection, with the volumes each has already extracted (so that a rerun fetches none again).
 */
import type { SQLInputValue } from "node:sqlite";
import type { Catalog, FileRecord, FileState, VolumeState } from "./catalog.ts";

/** One restore: a destination folder and a file selection. */
export interface RestoreJob {
  id: number;
  destination: string;
  selection: string;
  createdAt: string;
  finishedAt: string | null;
}

/** A file row with the state of the volume holding it, for restore planning. */
export interface PlannedFileRow {
  id: number;
  archivePath: string;
  type: FileRecord["type"];
  size: number;
  state: FileState;
  volumeId: number | null;
  volumeState: VolumeState | null;
}

type Row = Record<string, SQLInputValue>;

/** Records that a RestoreObject request was just sent for a volume. */
export function recordThawRequest(
  catalog: Catalog,
  volumeId: number,
  tier: string,
  days: number,
): void {
  catalog.transaction(() => {
    catalog.db.prepare(
      "INSERT INTO restore_thaws (volume_id, tier, days, requested_at) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (volume_id) DO UPDATE SET tier = excluded.tier, days = excluded.days, " +
        "requested_at = excluded.requested_at, requests = requests + 1, ready_at = NULL",
    ).run(volumeId, tier, days, new Date().toISOString());
  });
}

/** Records that a requested volume is now readable (no-op without a recorded request). */
export function recordThawed(catalog: Catalog, volumeId: number): void {
  catalog.transaction(() => {
    catalog.db.prepare(
      "UPDATE restore_thaws SET ready_at = ? WHERE volume_id = ? AND ready_at IS NULL",
    ).run(new Date().toISOString(), volumeId);
  });
}

/** The job restoring `selection` into `destination`, if one was started before. */
export function findRestoreJob(
  catalog: Catalog,
  destination: string,
  selection: string,
): RestoreJob | undefined {
  const row = catalog.db.prepare(
    "SELECT * FROM restore_jobs WHERE destination = ? AND selection = ?",
  ).get(destination, selection) as Row | undefined;
  return row ? toJob(row) : undefined;
}

/** Starts a job (or returns the existing one) for `selection` into `destination`. */
export function openRestoreJob(
  catalog: Catalog,
  destination: string,
  selection: string,
): RestoreJob {
  return catalog.transaction(() => {
    const found = findRestoreJob(catalog, destination, selection);
    if (found) return found;
    catalog.db.prepare(
      "INSERT INTO restore_jobs (destination, selection, created_at) VALUES (?, ?, ?)",
    ).run(destination, selection, new Date().toISOString());
    return findRestoreJob(catalog, destination, selection)!;
  });
}

/** The volumes a job has finished extracting. */
export function extractedVolumes(catalog: Catalog, jobId: number): Set<number> {
  const rows = catalog.db.prepare("SELECT volume_id FROM restore_extracted WHERE job_id = ?").all(
    jobId,
  ) as Row[];
  return new Set(rows.map((row) => row.volume_id as number));
}

/** Records that a job has extracted everything it wants from a volume. */
export function recordExtracted(catalog: Catalog, jobId: number, volumeId: number): void {
  catalog.transaction(() => {
    catalog.db.prepare(
      "INSERT OR REPLACE INTO restore_extracted (job_id, volume_id, extracted_at) VALUES (?, ?, ?)",
    ).run(jobId, volumeId, new Date().toISOString());
  });
}

/** Marks a job finished (every wanted volume extracted, folder times set). */
export function finishRestoreJob(catalog: Catalog, jobId: number): void {
  catalog.transaction(() => {
    catalog.db.prepare("UPDATE restore_jobs SET finished_at = ? WHERE id = ?").run(
      new Date().toISOString(),
      jobId,
    );
  });
}

/**
 * Every file row with its volume's state, in id order, read a page at a time as arrays (a catalog
 * may hold millions of files): for working out what a selection can restore.
 */
export function* plannedFileRows(catalog: Catalog): Generator<PlannedFileRow> {
  const rows = catalog.streamArrays(
    "SELECT f.id, f.archive_path, f.type, f.size, f.state, f.volume_id, v.state " +
      "FROM files f LEFT JOIN volumes v ON v.id = f.volume_id WHERE f.id > ? ORDER BY f.id LIMIT ?",
    [],
  );
  for (const r of rows) {
    yield {
      id: r[0] as number,
      archivePath: r[1] as string,
      type: r[2] as FileRecord["type"],
      size: r[3] as number,
      state: r[4] as FileState,
      volumeId: r[5] as number | null,
      volumeState: r[6] as VolumeState | null,
    };
  }
}

/** What extracting a volume needs of each of its catalog rows. */
export type VolumeEntryRow = Pick<
  FileRecord,
  "id" | "path" | "archivePath" | "type" | "state" | "linkTarget"
>;

/**
 * The rows of one volume in id order, with only the columns extraction uses, read a page at a
 * time as arrays: a volume may hold hundreds of thousands of entries.
 */
export function* volumeEntryRows(catalog: Catalog, volumeId: number): Generator<VolumeEntryRow> {
  const rows = catalog.streamArrays(
    "SELECT id, path, archive_path, type, state, link_target FROM files " +
      "WHERE volume_id = ? AND id > ? ORDER BY id LIMIT ?",
    [volumeId],
  );
  for (const r of rows) {
    yield {
      id: r[0] as number,
      path: r[1] as string,
      archivePath: r[2] as string,
      type: r[3] as FileRecord["type"],
      state: r[4] as FileState,
      linkTarget: r[5] as string | null,
    };
  }
}

/**
 * Up to `limit` restorable folders (state stored or changed, in an uploaded volume) with ids
 * greater than `afterId`, in id order: a restore sets their modes and times last.
 */
export function restorableFoldersAfter(
  catalog: Catalog,
  afterId: number,
  limit: number,
): { id: number; archivePath: string; mode: number; mtimeMs: number }[] {
  const rows = catalog.db.prepare(
    "SELECT f.id, f.archive_path, f.mode, f.mtime_ms FROM files f " +
      "JOIN volumes v ON v.id = f.volume_id " +
      "WHERE f.id > ? AND f.type = 'directory' AND f.state IN ('stored', 'changed') " +
      "AND v.state = 'uploaded' ORDER BY f.id LIMIT ?",
  ).all(afterId, limit) as Row[];
  return rows.map((row) => ({
    id: row.id as number,
    archivePath: row.archive_path as string,
    mode: row.mode as number,
    mtimeMs: row.mtime_ms as number,
  }));
}

function toJob(row: Row): RestoreJob {
  return {
    id: row.id as number,
    destination: row.destination as string,
    selection: row.selection as string,
    createdAt: row.created_at as string,
    finishedAt: row.finished_at as string | null,
  };
}

/** A hardlink row of a volume: its path, state and the archive path of the file it names. */
export interface HardlinkRow {
  archivePath: string;
  state: FileState;
  linkTarget: string | null;
}

/**
 * The hardlink rows of one volume, in id order, read lazily: only they are read (the volume's
 * other rows, most of it, are left in the database).
 */
export function* hardlinkRowsOfVolume(
  catalog: Catalog,
  volumeId: number,
): Generator<HardlinkRow> {
  const rows = catalog.streamRows(
    "SELECT archive_path, state, link_target FROM files " +
      "WHERE volume_id = ? AND type = 'hardlink' ORDER BY id",
    volumeId,
  );
  for (const row of rows) {
    yield {
      archivePath: row.archive_path as string,
      state: row.state as FileState,
      linkTarget: row.link_target as string | null,
    };
  }
}
