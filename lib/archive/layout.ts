/**
 * The bucket layout: how the names a backup leaves behind are made and read back. A bucket holds
 *
 *     [PREFIX/]BACKUP_ID/NNNNNN_BASE[.zst|.gz][.age]    the volumes (BASE is `backup.tar` by default)
 *     [PREFIX/]BACKUP_ID/catalog.sqlite3.age            the catalog copy (`catalog.sqlite3` when
 *                                                       the backup is not encrypted)
 *
 * and the state folder holds `BACKUP_ID_backup_statedb.sqlite3`. BACKUP_ID is the local time the
 * backup started, `YYYYMMDD_HHMMSS`. Names read from a bucket or a catalog are hostile input: the
 * parsers here accept only what the builders make. (A `file://` bucket's `.glacier-meta` sidecars
 * are the folder storage's own business and live in lib/storage/local.ts.)
 */

/** The shape of a backup id, for messages. */
export const BACKUP_ID_FORMAT = "YYYYMMDD_HHMMSS";

/** A backup id anywhere in a text (not anchored; use `isBackupId` to test a whole id). */
export const BACKUP_ID_PATTERN = /\d{8}_\d{6}/;

const WHOLE_BACKUP_ID = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})$/;

/** A backup id for a moment: local time as `YYYYMMDD_HHMMSS`. */
export function backupIdFor(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}_` +
    `${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
}

/** True when `text` has the shape of a backup id, `YYYYMMDD_HHMMSS`. */
export function isBackupId(text: string): boolean {
  return WHOLE_BACKUP_ID.test(text);
}

/** When a backup started, as its id says: `YYYY-MM-DD HH:MM:SS` (undefined for no backup id). */
export function backupIdStarted(backupId: string): string | undefined {
  const parts = WHOLE_BACKUP_ID.exec(backupId);
  if (!parts) return undefined;
  const [, y, mo, d, h, mi, s] = parts;
  return `${y}-${mo}-${d} ${h}:${mi}:${s}`;
}

const STATE_DB_SUFFIX = "_backup_statedb.sqlite3";

/** The state database file name of a backup id: `BACKUP_ID_backup_statedb.sqlite3`. */
export function stateDbName(backupId: string): string {
  return `${backupId}${STATE_DB_SUFFIX}`;
}

/** The backup id a state database file name is made of, or undefined for any other name. */
export function backupIdOfStateDbName(fileName: string): string | undefined {
  if (!fileName.endsWith(STATE_DB_SUFFIX)) return undefined;
  const backupId = fileName.slice(0, -STATE_DB_SUFFIX.length);
  return isBackupId(backupId) ? backupId : undefined;
}

/**
 * Why `text` cannot be a key prefix, or undefined when it can: a prefix is a path of folders in
 * the bucket, and `.` or `..` segments would make two spellings of one folder (or none).
 */
export function prefixProblem(text: string): string | undefined {
  if (trimSlashes(text).split("/").some((part) => part === ".." || part === ".")) {
    return `may not contain "." or ".." segments`;
  }
  return undefined;
}

/** A prefix as stored: no leading or trailing `/`, no empty segments ("" for none). */
export function normalizePrefix(text: string): string {
  return trimSlashes(text).replace(/\/{2,}/g, "/");
}

function trimSlashes(text: string): string {
  return text.replace(/^\/+|\/+$/g, "");
}

/** The key prefix of everything under a prefix: `PREFIX/`, or "" for the bucket's root. */
export function prefixFolderKey(prefix: string): string {
  return prefix === "" ? "" : `${prefix}/`;
}

/** Where a backup's objects are: its prefix and id. */
export interface BackupLocation {
  /** Key prefix, normalized (see `normalizePrefix`; "" for none). */
  prefix: string;
  backupId: string;
}

/** The object key of a file of this backup in the bucket: `[PREFIX/]BACKUP_ID/NAME`. */
export function objectKey(backup: BackupLocation, name: string): string {
  return [backup.prefix, backup.backupId, name].filter((part) => part !== "").join("/");
}

/** The key prefix of everything a backup stores in its bucket: `[PREFIX/]BACKUP_ID/`. */
export function backupFolderKey(backup: BackupLocation): string {
  return `${objectKey(backup, "")}/`;
}

/** Object name of the encrypted catalog copy. */
export const CATALOG_COPY_NAME = "catalog.sqlite3.age";
/** Object name of the catalog copy of an unencrypted backup. */
export const PLAIN_CATALOG_COPY_NAME = "catalog.sqlite3";

/** True for the object name of a catalog copy (encrypted or not). */
export function isCatalogCopyName(name: string): boolean {
  return name === CATALOG_COPY_NAME || name === PLAIN_CATALOG_COPY_NAME;
}

/** The key of a backup's catalog copy in the bucket. */
export function catalogCopyKey(backup: BackupLocation, encrypted: boolean): string {
  return objectKey(backup, encrypted ? CATALOG_COPY_NAME : PLAIN_CATALOG_COPY_NAME);
}

const DELETED_PATHS_ENTRY = /^\.glacier-deleted-paths-\d{8}_\d{6}\.txt$/;

/**
 * The TAR entry, at the root of an incremental backup's first volume (its first entry), that
 * lists the archive paths deleted since its base, one a line: `.glacier-deleted-paths-ID.txt`.
 */
export function deletedPathsEntryName(backupId: string): string {
  return `.glacier-deleted-paths-${backupId}.txt`;
}

/** True for the name of a deleted-paths list (see `deletedPathsEntryName`). */
export function isDeletedPathsEntry(path: string): boolean {
  return DELETED_PATHS_ENTRY.test(path);
}

/** The file name extension of each compression. */
const COMPRESSION_EXTENSIONS = { zstd: ".zst", gzip: ".gz", none: "" } as const;

/** What a volume's name is made of, besides its number. */
export interface VolumeNaming {
  /** OUTPUT_TAR's base name, e.g. `output.tar`. */
  baseName: string;
  compression: keyof typeof COMPRESSION_EXTENSIONS;
  encrypt: boolean;
}

/** The shape of a volume name, for messages. */
export const VOLUME_NAME_PATTERN = "NNNNNN_NAME.tar[.zst|.gz][.age]";

/** The file name extension a volume gets for these settings, e.g. `.tar.zst.age`. */
export function volumeExtension(naming: Pick<VolumeNaming, "compression" | "encrypt">): string {
  return COMPRESSION_EXTENSIONS[naming.compression] + (naming.encrypt ? ".age" : "");
}

/** The name of volume number `index` (from 1), e.g. `000001_output.tar.zst.age`. */
export function volumeName(naming: VolumeNaming, index: number): string {
  return `${volumeStem(naming.baseName, index)}${volumeExtension(naming)}`;
}

function volumeStem(baseName: string, index: number): string {
  return `${String(index).padStart(6, "0")}_${baseName}`;
}

// deno-lint-ignore no-control-regex
const UNSAFE_CHARACTERS = /[/\\\x00-\x1f\x7f]/;
const NUMBERED = /^\d{6,}_./;

/**
 * Why `name` cannot be a volume name (or a file name of its own), or undefined when it can. A
 * volume name is joined into local paths (restore's staging folder, decrypt's folder, the work
 * folder of resume), so it must be a single path component: no `/`, no `\`, no control
 * character, and it starts with the volume number, so it can never be `.` or `..`.
 */
export function volumeNameProblem(name: string): string | undefined {
  if (!NUMBERED.test(name)) return `it does not have the form ${VOLUME_NAME_PATTERN}`;
  if (UNSAFE_CHARACTERS.test(name)) {
    return "it holds a path separator or a control character";
  }
  return undefined;
}

/** True when `name` is a volume name (see `volumeNameProblem`). */
export function isVolumeName(name: string): boolean {
  return volumeNameProblem(name) === undefined;
}

/**
 * True when the file name `fileName` begins as the volumes of base name `baseName` do
 * (`NNNNNN_BASE`, six digits): the volume files of a work folder, and their `.partial` forms.
 */
export function isVolumeFileOf(baseName: string, fileName: string): boolean {
  const number = /^\d{6}_/.exec(fileName);
  return number !== null && fileName.startsWith(baseName, number[0].length);
}

/** A listed object key read as the layout makes keys. */
export interface BucketKey {
  /** The prefix the key was listed under ("" for none). */
  prefix: string;
  backupId: string;
  /** The rest of the key after `BACKUP_ID/` (never empty; it may hold a `/`). */
  name: string;
}

/**
 * Reads a key listed under `prefix` as `[PREFIX/]BACKUP_ID/NAME`. Undefined when the key is not
 * under the prefix, or not in a backup's folder there.
 */
export function parseBucketKey(key: string, prefix: string): BucketKey | undefined {
  const folder = prefixFolderKey(prefix);
  if (!key.startsWith(folder)) return undefined;
  const rest = key.slice(folder.length);
  const slash = rest.indexOf("/");
  if (slash < 0) return undefined;
  const backupId = rest.slice(0, slash);
  const name = rest.slice(slash + 1);
  if (!isBackupId(backupId) || name === "") return undefined;
  return { prefix, backupId, name };
}

/** What an object in a backup's folder is, by its name there. */
export type BackupObjectKind = "volume" | "catalog-copy" | "other";

/** The kind of the object named `name` (as `parseBucketKey` gives it) in a backup's folder. */
export function backupObjectKind(name: string): BackupObjectKind {
  if (isVolumeName(name)) return "volume";
  if (isCatalogCopyName(name)) return "catalog-copy";
  return "other";
}
