/** What the catalog commands (`sync`, `delete`) do with a backup's bucket besides reading it. */
import { uploadCatalogCopy } from "../backup/catalog_copy.ts";
import type { Catalog } from "../catalog/catalog.ts";
import { errorLine } from "../archive/errors.ts";
import type { Reporter } from "../archive/report.ts";
import type { Storage } from "../storage/storage.ts";

/**
 * Uploads the changed catalog over its copy in the bucket, so that the copy tells the same story
 * (only for a finished backup: an unfinished one uploads its copy when it ends). A failure is a
 * warning: the local state database is what counts.
 */
export async function refreshCatalogCopy(
  catalog: Catalog,
  storage: Storage,
  log: Reporter,
): Promise<void> {
  if (catalog.phase() !== "done") return;
  try {
    await uploadCatalogCopy(catalog, storage);
  } catch (error) {
    log.warn(`could not refresh the copy of the state database in the bucket: ${errorLine(error)}`);
  }
}
