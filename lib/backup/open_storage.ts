/**
 * Opens a bucket for a use case, wrapped in retries that report every wait: the one way every
 * command and flow gets its storage (`openBackupStorage` for a backup's own bucket, with the
 * command line's overrides; `openRetryingStorage` for a bucket given by name).
 */
import type { BackupSettings } from "../catalog/settings.ts";
import type { Reporter } from "../archive/report.ts";
import { formatDuration } from "../archive/units.ts";
import { type ConnectionSettings, openStorage, type OpenStorageOptions } from "../storage/open.ts";
import type { ServerSideEncryptionRequest } from "../storage/s3.ts";
import { withRetry } from "../storage/retry.ts";
import type { Storage } from "../storage/storage.ts";

/** Command-line overrides of a backup's stored bucket and connection settings. */
export interface StorageOverrides extends ConnectionSettings {
  bucket?: string;
}

/**
 * The storage of `bucket` with retries for ever on transient failures (until `signal` aborts);
 * each wait is reported as a warning.
 */
export function openRetryingStorage(
  bucket: string,
  connection: Pick<
    OpenStorageOptions,
    "endpoint" | "region" | "profile" | "encryption" | "objectLock"
  >,
  log: Pick<Reporter, "warn">,
  signal?: AbortSignal,
): Storage {
  // Only the connection settings: callers may pass a larger options object.
  const { endpoint, region, profile, encryption, objectLock } = connection;
  return withRetry(openStorage(bucket, { endpoint, region, profile, encryption, objectLock }), {
    signal,
    onRetry: ({ operation, attempt, delayMs, error }) =>
      log.warn(
        `${operation} failed (attempt ${attempt}): ${error.message}; retrying in ` +
          formatDuration(delayMs / 1000),
      ),
  });
}

/**
 * The storage of a backup, with retries: the bucket and connection settings stored in the
 * catalog, each overridable on the command line. `bucket` is the bucket actually used.
 */
export function openBackupStorage(
  settings: BackupSettings,
  overrides: StorageOverrides,
  log: Pick<Reporter, "warn">,
  signal?: AbortSignal,
): { storage: Storage; bucket: string } {
  const bucket = overrides.bucket ?? settings.bucket;
  const storage = openRetryingStorage(
    bucket,
    {
      endpoint: overrides.endpoint ?? settings.endpoint,
      region: overrides.region ?? settings.region,
      profile: overrides.profile ?? settings.profile,
      encryption: encryptionOf(settings),
      objectLock: settings.objectLock,
    },
    log,
    signal,
  );
  return { storage, bucket };
}

/** The server-side encryption a backup asked for (`--sse kms`), if any. */
export function encryptionOf(
  settings: Pick<BackupSettings, "sse" | "sseKmsKeyId">,
): ServerSideEncryptionRequest | undefined {
  return settings.sse === "kms" ? { kind: "kms", kmsKeyId: settings.sseKmsKeyId } : undefined;
}

/** True for a `file:` bucket (a folder on disk, where nothing is archived and nothing is charged). */
export function isFolderBucket(bucket: string): boolean {
  return /^file:/i.test(bucket.trim());
}
