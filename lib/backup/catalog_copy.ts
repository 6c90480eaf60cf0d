/**
 * The catalog copy kept in the bucket, `[PREFIX/]BACKUP_ID/catalog.sqlite3.age` in STANDARD
 * class, so that a lost laptop does not mean a lost index. (Placeholder until it lands.)
 */
import type { Catalog } from "../catalog/catalog.ts";
import type { Storage } from "../storage/storage.ts";

/** Uploads an encrypted copy of the catalog to the bucket. */
export function uploadCatalogCopy(_catalog: Catalog, _storage: Storage): Promise<void> {
  return Promise.resolve();
}
