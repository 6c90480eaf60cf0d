/** The options a backup was started with, stored in its catalog so that resume needs nothing else. */

import type { Compression } from "../archive/compress.ts";

/** Compression of the TAR stream inside a volume (defined with the volume format). */
export type { Compression };

/** Everything needed to run (or resume) one backup. */
export interface BackupSettings {
  /** `YYYYMMDD_HHMMSS`, also the folder of the backup in the bucket. */
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
}

/** The file name extension a volume gets for these settings, e.g. `.tar.zst.age`. */
export function volumeExtension(settings: Pick<BackupSettings, "compression" | "encrypt">): string {
  const compressed = { zstd: ".zst", gzip: ".gz", none: "" }[settings.compression];
  return compressed + (settings.encrypt ? ".age" : "");
}

/** The name of volume number `index` (from 1), e.g. `000001_output.tar.zst.age`. */
export function volumeName(
  settings: Pick<BackupSettings, "compression" | "encrypt" | "baseName">,
  index: number,
): string {
  return `${String(index).padStart(6, "0")}_${settings.baseName}${volumeExtension(settings)}`;
}

/** The object key of a file of this backup in the bucket: `[PREFIX/]BACKUP_ID/NAME`. */
export function objectKey(settings: Pick<BackupSettings, "prefix" | "backupId">, name: string) {
  return [settings.prefix, settings.backupId, name].filter((part) => part !== "").join("/");
}

/** A backup id for a moment: local time as `YYYYMMDD_HHMMSS`. */
export function backupIdFor(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}_` +
    `${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
}

/** The state database file name of a backup id. */
export function stateDbName(backupId: string): string {
  return `${backupId}_backup_statedb.sqlite3`;
}
