/**
 * Opens the bucket of an existing backup for the catalog commands (`sync`, `delete`): the bucket
 * and connection settings stored in the catalog, each overridable on the command line, wrapped in
 * retries that log every wait.
 */
import { uploadCatalogCopy } from "../backup/catalog_copy.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { objectKey } from "../catalog/settings.ts";
import { errorLine } from "../archive/errors.ts";
import { formatDuration } from "../archive/units.ts";
import type { Reporter } from "../archive/report.ts";
import { openStorage } from "../storage/open.ts";
import { withRetry } from "../storage/retry.ts";
import type { Storage } from "../storage/storage.ts";

/** Command-line overrides of the stored connection settings. */
export interface StorageOverrides {
  bucket?: string;
  endpoint?: string;
  region?: string;
  profile?: string;
}

/** The storage of a backup, with retries; `bucket` is the bucket actually used. */
export function openBackupStorage(
  settings: BackupSettings,
  overrides: StorageOverrides,
  log: Reporter,
  signal?: AbortSignal,
): { storage: Storage; bucket: string } {
  const bucket = overrides.bucket ?? settings.bucket;
  const storage = withRetry(
    openStorage(bucket, {
      endpoint: overrides.endpoint ?? settings.endpoint,
      region: overrides.region ?? settings.region,
      profile: overrides.profile ?? settings.profile,
    }),
    {
      signal,
      onRetry: ({ operation, attempt, delayMs, error }) =>
        log.warn(
          `${operation} failed (attempt ${attempt}): ${error.message}; retrying in ` +
            formatDuration(delayMs / 1000),
        ),
    },
  );
  return { storage, bucket };
}

/** The key prefix of everything a backup stores in its bucket: `[PREFIX/]BACKUP_ID/`. */
export function backupFolderKey(settings: Pick<BackupSettings, "prefix" | "backupId">): string {
  return `${objectKey(settings, "")}/`;
}

/** True for a `file:` bucket (a folder on disk, where no storage charges apply). */
export function isFolderBucket(bucket: string): boolean {
  return /^file:/i.test(bucket.trim());
}

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
