/**
 * Which volumes hold the files that `--include` patterns name (the pattern language of
 * lib/archive/patterns.ts), so that an estimate prices only the volumes a restore of those files
 * would thaw.
 */
import type { Catalog } from "../catalog/catalog.ts";
import type { IncludeMatcher } from "../archive/patterns.ts";
import { heldFiles } from "../catalog/listing.ts";

/** The files an include list selects, and the volumes holding them. */
export interface FileSelection {
  /** Matching files, folders and symlinks. */
  entries: number;
  /** Bytes of the matching files. */
  fileBytes: number;
  volumeIds: Set<number>;
}

/** Streams the catalog's files through `matcher` and collects the volumes of those that match. */
export function selectFiles(catalog: Catalog, matcher: IncludeMatcher): FileSelection {
  const selection: FileSelection = { entries: 0, fileBytes: 0, volumeIds: new Set() };
  for (const file of heldFiles(catalog)) {
    if (!matcher(file.archivePath)) continue;
    selection.entries++;
    selection.fileBytes += file.size;
    selection.volumeIds.add(file.volumeId);
  }
  return selection;
}
