/**
 * Catalog updates behind `glacier sync` and `glacier delete`: a volume found missing from the
 * bucket, found again, or deleted on purpose, together with the files it holds. Each update is one
 * transaction.
 */
import type { Catalog } from "./catalog.ts";

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
  return catalog.transaction(() => {
    catalog.db.prepare("UPDATE volumes SET state = 'missing' WHERE id = ? AND state = 'uploaded'")
      .run(volumeId);
    return changedRows(
      catalog.db.prepare(
        "UPDATE files SET state = 'missing' WHERE volume_id = ? AND state IN ('stored', 'changed')",
      ).run(volumeId),
    );
  });
}

/** Marks a missing volume as back in the bucket; its missing files are stored again (returned). */
export function markVolumeFound(catalog: Catalog, volumeId: number): number {
  return catalog.transaction(() => {
    catalog.db.prepare("UPDATE volumes SET state = 'uploaded' WHERE id = ? AND state = 'missing'")
      .run(volumeId);
    return changedRows(
      catalog.db.prepare(
        "UPDATE files SET state = 'stored' WHERE volume_id = ? AND state = 'missing'",
      ).run(volumeId),
    );
  });
}

/**
 * Marks a volume deleted on purpose, with every file it held (files the backup skipped keep
 * their `vanished` / `unreadable` state); forgets its multipart parts. Returns the files changed.
 */
export function markVolumeDeleted(catalog: Catalog, volumeId: number): number {
  return catalog.transaction(() => {
    catalog.db.prepare("UPDATE volumes SET state = 'deleted' WHERE id = ?").run(volumeId);
    catalog.db.prepare("DELETE FROM parts WHERE volume_id = ?").run(volumeId);
    return changedRows(
      catalog.db.prepare(
        "UPDATE files SET state = 'deleted' WHERE volume_id = ? " +
          "AND state IN ('pending', 'stored', 'changed', 'missing')",
      ).run(volumeId),
    );
  });
}

function changedRows(result: { changes: number | bigint }): number {
  return Number(result.changes);
}
