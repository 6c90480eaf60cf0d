/**
 * S3 Object Lock of a backup (`--object-lock-days`): the bucket must have it enabled before a
 * backup that asks for it starts, and the lines that say what a lock means for deleting.
 */
import type { ObjectLockSettings } from "../catalog/settings.ts";
import { UsageError } from "../archive/errors.ts";
import type { Storage } from "../storage/storage.ts";

/**
 * Throws a `UsageError` saying how to get a bucket with Object Lock when `storage` has none
 * (a bucket can only be created with it: `aws s3api create-bucket --object-lock-enabled-for-bucket`).
 */
export async function requireObjectLock(storage: Storage): Promise<void> {
  if (storage.objectLockEnabled && await storage.objectLockEnabled()) return;
  throw new UsageError(
    `--object-lock-days: ${storage.description} does not have Object Lock enabled; use a bucket ` +
      "created with it (aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket)",
  );
}

/** The one line `estimate` and `backup --dry-run` print about a backup's lock. */
export function objectLockLine(lock: ObjectLockSettings): string {
  return `Object Lock (${lock.mode.toLowerCase()}): each volume and the catalog copy are locked ` +
    `for ${lock.days} day${lock.days === 1 ? "" : "s"} after upload; locked volumes cannot be ` +
    "removed early";
}
