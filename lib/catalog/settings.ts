/** The options a backup was started with, stored in its catalog so that resume needs nothing else. */

import type { Compression } from "../archive/compress.ts";

/** Compression of the TAR stream inside a volume (defined with the volume format). */
export type { Compression };

/** Everything needed to run (or resume) one backup. */
export interface BackupSettings {
  /** `YYYYMMDD_HHMMSS`, also the folder of the backup in the bucket (lib/archive/layout.ts). */
  backupId: string;
  /** Absolute source folders, in the order given. */
  sourceDirs: string[];
  /** `file:///folder`, `s3://name` or a bare bucket name. */
  bucket: string;
  /** Key prefix in the bucket, without leading or trailing `/` ("" for none). */
  prefix: string;
  /** Folder the local volumes are built in. */
  workDir: string;
  /** True when `workDir` was made by the program (removed when the backup is done). */
  workDirIsTemporary: boolean;
  /** Base name of volumes, e.g. `output.tar` gives `000001_output.tar.zst.age`. */
  baseName: string;
  /** Target volume size in bytes (of TAR data before compression). */
  volumeSize: number;
  compression: Compression;
  encrypt: boolean;
  storageClass: string;
  uploadWorkers: number;
  /** Glob patterns of paths to leave out. */
  excludes: string[];
  endpoint?: string;
  region?: string;
  profile?: string;
  /** `kms`: every object is written with SSE-KMS (`--sse kms`); unset: the bucket's default. */
  sse?: "kms";
  /** KMS key of `sse: "kms"` (unset: the account's `aws/s3` key). */
  sseKmsKeyId?: string;
  /**
   * `--object-lock-days`: every volume and the catalog copy are written with S3 Object Lock
   * retention until `days` days after their upload (unset: no lock).
   */
  objectLock?: ObjectLockSettings;
  /**
   * `--rehash` (incremental backups): a file is unchanged since the base when its bytes hash the
   * same, not when its change time and file id match.
   */
  rehash?: boolean;
  /** The state database of the base of an incremental backup (absolute path). */
  baseStateDb?: string;
}

/** S3 Object Lock retention of each object a backup writes. */
export interface ObjectLockSettings {
  mode: "GOVERNANCE" | "COMPLIANCE";
  /** Retention after the upload, in days (at least 1). */
  days: number;
}
