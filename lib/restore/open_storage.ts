/** Opens the bucket a restore reads from, wrapped in retries that log every wait. */
import { formatDuration } from "../archive/units.ts";
import type { Reporter } from "../archive/report.ts";
import { openStorage } from "../storage/open.ts";
import { withRetry } from "../storage/retry.ts";
import type { Storage } from "../storage/storage.ts";

/** Connection settings; unset ones come from the AWS environment. */
export interface ConnectionSettings {
  endpoint?: string;
  region?: string;
  profile?: string;
}

/** The storage of `bucket` with retries for ever on transient failures (until `signal` aborts). */
export function openRestoreStorage(
  bucket: string,
  connection: ConnectionSettings,
  log: Reporter,
  signal?: AbortSignal,
): Storage {
  return withRetry(openStorage(bucket, connection), {
    signal,
    onRetry: ({ operation, attempt, delayMs, error }) =>
      log.warn(
        `${operation} failed (attempt ${attempt}): ${error.message}; retrying in ` +
          formatDuration(delayMs / 1000),
      ),
  });
}

/** True for a `file:` bucket (a folder on disk, where nothing is ever archived). */
export function isFolderBucket(bucket: string): boolean {
  return /^file:/i.test(bucket.trim());
}
