/**
 * The volume state machine: every change of a volume's state, together with the states of the
 * files it holds, is one function here and one transaction.
 *
 *     planned --built--> built --uploaded--> uploaded --missing--> missing --found--> uploaded
 *     built --reset--> planned (its local file was lost: build it again)
 *     any --deleted--> deleted (glacier delete)
 *
 * The backup builds and uploads volumes (and resets one whose local file is lost); `glacier sync`
 * marks them missing or found; `glacier delete` deletes them.
 */
import type { PackedFileHash, PackedFileUpdate } from "../archive/volume_tar.ts";
import type { Catalog } from "./catalog.ts";

/**
 * Marks a volume built, with the size and SHA-256 of its bytes, and records the outcomes of the
 * files whose packing went otherwise than scanned (`outcomes`: changed, vanished, unreadable, or
 * stored differently); the others are recorded `stored` already (see `FileState`). A new build
 * forgets any earlier multipart upload.
 */
export function markVolumeBuilt(
  catalog: Catalog,
  volumeId: number,
  built: {
    size: number;
    sha256: string;
    outcomes: PackedFileUpdate[];
    hashes?: PackedFileHash[];
  },
): void {
  catalog.transaction(() => {
    catalog.updateFiles(built.outcomes);
    catalog.insertContentHashes(built.hashes ?? []);
    catalog.db.prepare(
      "UPDATE volumes SET state = 'built', size = ?, sha256 = ?, built_at = ?, upload_id = NULL, " +
        "part_size = NULL WHERE id = ?",
    ).run(built.size, built.sha256, new Date().toISOString(), volumeId);
  });
}

/**
 * Returns a volume to `planned` (its local file is gone and must be rebuilt); its files are
 * `stored` again, as recorded before any build, so that no outcome of the lost one is kept.
 */
export function resetVolume(catalog: Catalog, volumeId: number): void {
  transition(
    catalog,
    volumeId,
    "DELETE FROM parts WHERE volume_id = ?",
    "UPDATE volumes SET state = 'planned', size = NULL, sha256 = NULL, upload_id = NULL, " +
      "part_size = NULL, built_at = NULL WHERE id = ?",
    "UPDATE files SET state = 'stored' WHERE volume_id = ?",
  );
}

/** Marks a volume uploaded and checked; its parts are no longer needed. */
export function markVolumeUploaded(catalog: Catalog, volumeId: number): void {
  catalog.transaction(() => {
    catalog.db.prepare("UPDATE volumes SET state = 'uploaded', uploaded_at = ? WHERE id = ?")
      .run(new Date().toISOString(), volumeId);
    catalog.db.prepare("DELETE FROM parts WHERE volume_id = ?").run(volumeId);
  });
}

/** When the volume finished uploading, as recorded by the backup (`undefined` if unknown). */
export function uploadedAt(catalog: Catalog, volumeId: number): Date | undefined {
  const row = catalog.db.prepare("SELECT uploaded_at FROM volumes WHERE id = ?").get(volumeId) as
    | { uploaded_at: string | null }
    | undefined;
  if (!row?.uploaded_at) return undefined;
  const date = new Date(row.uploaded_at);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Marks an uploaded volume as gone from the bucket; its stored files become `missing`. (A file
 * stored as `changed` comes back as `stored` if the volume turns up again.) Returns the files
 * changed.
 */
export function markVolumeMissing(catalog: Catalog, volumeId: number): number {
  return transition(
    catalog,
    volumeId,
    "UPDATE volumes SET state = 'missing' WHERE id = ? AND state = 'uploaded'",
    "UPDATE files SET state = 'missing' WHERE volume_id = ? AND state IN ('stored', 'changed')",
  );
}

/** Marks a missing volume as back in the bucket; its missing files are stored again (returned). */
export function markVolumeFound(catalog: Catalog, volumeId: number): number {
  return transition(
    catalog,
    volumeId,
    "UPDATE volumes SET state = 'uploaded' WHERE id = ? AND state = 'missing'",
    "UPDATE files SET state = 'stored' WHERE volume_id = ? AND state = 'missing'",
  );
}

/**
 * Marks a volume deleted on purpose, with every file it held (files the backup skipped keep
 * their `vanished` / `unreadable` state); forgets its multipart parts. Returns the files changed.
 */
export function markVolumeDeleted(catalog: Catalog, volumeId: number): number {
  return transition(
    catalog,
    volumeId,
    "UPDATE volumes SET state = 'deleted' WHERE id = ?",
    "DELETE FROM parts WHERE volume_id = ?",
    "UPDATE files SET state = 'deleted' WHERE volume_id = ? " +
      "AND state IN ('pending', 'stored', 'changed', 'missing')",
  );
}

/**
 * Runs the statements of one transition, each taking the volume id as its one parameter, in one
 * transaction; returns the rows the last one changed (the files, by convention).
 */
function transition(catalog: Catalog, volumeId: number, ...statements: string[]): number {
  return catalog.transaction(() => {
    let changes = 0;
    for (const sql of statements) changes = Number(catalog.db.prepare(sql).run(volumeId).changes);
    return changes;
  });
}

/**
 * Records content hashes of files of a volume being built, a batch at a time while it is packed
 * (the rest go with `markVolumeBuilt`). Safe if the build is cut short: a rebuild writes them
 * again, and only files left `stored` are ever compared by them.
 */
export function recordContentHashes(catalog: Catalog, hashes: PackedFileHash[]): void {
  catalog.deferredTransaction(() => catalog.insertContentHashes(hashes));
}
