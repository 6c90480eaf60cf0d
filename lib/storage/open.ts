/**
 * Turns the `--bucket` argument into a `Storage`: `file:...` is a folder on disk, `s3://name` or a
 * bare name is an S3 bucket. The result is not wrapped in retries; the caller does that.
 */

import { FileBucketError, fileBucketOfBarePath, folderOfFileUrl } from "./file_url.ts";
import { createLocalStorage } from "./local.ts";
import { createS3Storage, type ObjectLockRequest, type ServerSideEncryptionRequest } from "./s3.ts";
import { type Storage, StorageError } from "./storage.ts";

/**
 * How to reach a bucket (the `--endpoint`, `--region` and `--profile` options); unset ones come
 * from the AWS environment.
 */
export interface ConnectionSettings {
  endpoint?: string;
  region?: string;
  profile?: string;
}

/** S3 settings from the command line; unset ones come from the AWS environment. */
export interface OpenStorageOptions extends ConnectionSettings {
  /** Send checksums only where S3 requires them (see `S3StorageOptions`). */
  checksumWhenRequired?: boolean;
  /** Server-side encryption asked for on every object written (an S3 bucket only). */
  encryption?: ServerSideEncryptionRequest;
  /** Object Lock retention put on every object written (an S3 bucket only). */
  objectLock?: ObjectLockRequest;
}

/** A `--bucket` value that names no usable bucket or folder: a usage error (permanent). */
export class InvalidBucketError extends StorageError {
  constructor(message: string) {
    super("permanent", message);
    this.name = "InvalidBucketError";
  }
}

/**
 * Opens the storage a `--bucket` value names:
 * - `file:///abs/folder` (a file URL), `file:/abs/folder`, `file:relative/folder` or
 *   `file://relative/folder` (both relative to the current folder): a local folder; on Windows
 *   also `C:\folder` and network shares (file_url.ts);
 * - `s3://name` or `name`: an S3 bucket. Throws `InvalidBucketError` for an invalid name.
 */
export function openStorage(bucket: string, options: OpenStorageOptions = {}): Storage {
  const trimmed = asBucket(bucket);
  if (/^file:/i.test(trimmed)) {
    if (options.encryption) {
      throw new InvalidBucketError(
        `--sse kms needs an S3 bucket; ${bucket} is a folder, which S3 does not encrypt`,
      );
    }
    if (options.objectLock) {
      throw new InvalidBucketError(
        `--object-lock-days needs an S3 bucket with Object Lock; ${bucket} is a folder`,
      );
    }
    return createLocalStorage(folderOfFileBucket(trimmed));
  }
  const name = /^s3:\/\//i.test(trimmed) ? trimmed.slice(5) : trimmed;
  const problem = bucketNameProblem(name);
  if (problem) throw new InvalidBucketError(`invalid bucket ${JSON.stringify(bucket)}: ${problem}`);
  // Only the S3 settings: a caller may pass a larger options object that has its own `bucket`.
  const { region, endpoint, profile, checksumWhenRequired, encryption, objectLock } = options;
  return createS3Storage({
    bucket: name,
    region,
    endpoint,
    profile,
    checksumWhenRequired,
    encryption,
    objectLock,
  });
}

/**
 * The `--bucket` value as the program keeps it: trimmed, and on Windows a bare folder path
 * (`C:\x`, `\\server\share\x`) turned into its `file://` URL, the form that can be pasted back.
 */
export function asBucket(value: string): string {
  return fileBucketOfBarePath(value) ?? value.trim();
}

/** The folder a `file:` bucket names, made absolute (`os` and `cwd`: see file_url.ts). */
export function folderOfFileBucket(
  bucket: string,
  os: typeof Deno.build.os = Deno.build.os,
  cwd: string = Deno.cwd(),
): string {
  try {
    return folderOfFileUrl(bucket, os, cwd);
  } catch (error) {
    if (error instanceof FileBucketError) throw new InvalidBucketError(error.message);
    throw error;
  }
}

/**
 * Why `name` is not a valid S3 bucket name (the current AWS rules: 3 to 63 characters of
 * lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, not
 * an IP address), or `undefined` when it is.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name === "") return "the bucket name is empty";
  if (name.includes("/")) {
    return "a bucket is a plain name (s3://name), without a path; use file:/path for a folder";
  }
  if (name.length < 3 || name.length > 63) return "a bucket name has 3 to 63 characters";
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) {
    return "a bucket name uses lowercase letters, digits, dots and hyphens, and starts and ends " +
      "with a letter or digit";
  }
  if (name.includes("..")) return "a bucket name cannot contain two dots in a row";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "a bucket name cannot look like an IP address";
  return undefined;
}
