/**
 * The chain of an incremental backup: which backups' volumes its snapshot needs. A catalog is a
 * complete snapshot whose files point at volumes of this backup or of an earlier backup of its
 * chain (`volumes.backup_id`, see schema.ts); `glacier forget` and `delete` ask here which
 * volumes a kept backup still needs.
 */
import type { Catalog } from "./catalog.ts";

/** A volume a backup's snapshot needs, and the backup whose folder holds it. */
export interface NeededVolume {
  /** The backup holding the volume (this backup's own id for its own volumes). */
  backupId: string;
  name: string;
  objectKey: string;
}

/**
 * The distinct volumes, across the chain, that hold at least one file of this snapshot, in
 * volume order.
 */
export function volumesNeeded(catalog: Catalog): NeededVolume[] {
  const own = catalog.settings().backupId;
  return catalog.db.prepare(
    "SELECT v.backup_id, v.name, v.object_key FROM volumes v WHERE EXISTS " +
      "(SELECT 1 FROM files f WHERE f.volume_id = v.id) ORDER BY v.id",
  ).all().map((row) => ({
    backupId: (row.backup_id as string | null) ?? own,
    name: row.name as string,
    objectKey: row.object_key as string,
  }));
}
