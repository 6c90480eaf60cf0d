/**
 * Which volumes hold the files that `--include` patterns name (the pattern language of
 * lib/archive/patterns.ts), so that an estimate prices only the volumes a restore of those files
 * would thaw.
 */
import type { Catalog } from "../catalog/catalog.ts";
import type { IncludeMatcher } from "../archive/patterns.ts";

/** The files an include list selects, and the volumes holding them. */
export interface FileSelection {
  /** Matching files, folders and symlinks. */
  entries: number;
  /** Bytes of the matching files. */
  fileBytes: number;
  volumeIds: Set<number>;
}

/** File states whose data is in a volume (others were never stored, or were deleted). */
const HELD_STATES = "('pending', 'stored', 'changed')";

/** Streams the catalog's files through `matcher` and collects the volumes of those that match. */
export function selectFiles(catalog: Catalog, matcher: IncludeMatcher): FileSelection {
  const selection: FileSelection = { entries: 0, fileBytes: 0, volumeIds: new Set() };
  const statement = catalog.db.prepare(
    "SELECT archive_path, size, volume_id FROM files " +
      `WHERE volume_id IS NOT NULL AND state IN ${HELD_STATES} ORDER BY id`,
  );
  for (const row of statement.iterate()) {
    const record = row as { archive_path: string; size: number; volume_id: number };
    if (!matcher(record.archive_path)) continue;
    selection.entries++;
    selection.fileBytes += record.size;
    selection.volumeIds.add(record.volume_id);
  }
  return selection;
}
