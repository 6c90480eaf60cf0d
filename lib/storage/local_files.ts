/**
 * File-system helpers for `local.ts`: durable atomic writes (temp file in the same folder, fsync,
 * rename, fsync of the folder), chunked reads, and the mapping of file-system errors to
 * `StorageError` kinds.
 */

import { dirname, join } from "node:path";
import { StorageError, type StorageErrorKind } from "./storage.ts";
import { restrictToOwner } from "./owner_only.ts";
import { sameInode } from "./same_inode.ts";

/** Every name the local storage keeps for itself starts with this; keys may not use it. */
export const RESERVED_NAME_PREFIX = ".glacier-";
/** Prefix of temporary files; a crash can leave them behind, listings skip them. */
const TEMP_PREFIX = `${RESERVED_NAME_PREFIX}tmp-`;
/** Read size when streaming files. */
export const CHUNK_SIZE = 1 << 20;
/**
 * Mode of every file the storage writes (objects, parts, metadata): volumes, and a catalog copy
 * of a `--no-encrypt` backup lists every path in clear, so only the owner may read them.
 */
export const FILE_MODE = 0o600;
/** Mode of the folders the storage creates (a backup's folder, its own `.glacier-` folders). */
export const FOLDER_MODE = 0o700;

/** Random lowercase hex of `bytes` random bytes. */
export function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)))
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * Writes `path` all at once or not at all: `write` fills a temp file in the same folder, which is
 * then flushed to disk and renamed over `path`. Creates missing folders unless `createFolders` is
 * false. On failure the temp file is removed and `path` is untouched. The file gets `FILE_MODE`,
 * folders made for it `FOLDER_MODE`.
 */
export function writeFileAtomic(
  path: string,
  write: (file: Deno.FsFile) => Promise<void>,
  { createFolders = true }: { createFolders?: boolean } = {},
): Promise<void> {
  return replaceAtomically(path, createFolders, async (temp) => {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: FILE_MODE });
    try {
      restrictToOwner(temp); // Windows: an ACL; when that fails, `backup` says so once.
      await write(file);
      await file.sync();
    } finally {
      file.close();
    }
  });
}

/**
 * Copies `source` to `path` all at once or not at all, flushed to disk, with `FILE_MODE` whatever
 * the mode of `source` (see `writeFileAtomic`). A `source` that is private already (`FILE_MODE`)
 * on the same file system is not copied but linked: `path` becomes a second name of it, and
 * `source` can be removed afterwards (a finished volume in the work folder moves to the bucket
 * without its bytes being read and written again). Anywhere else it is copied.
 */
export async function copyFileAtomic(source: string, path: string): Promise<void> {
  // Linked by an earlier run that died before it could remove `source`: renaming another link
  // of the same file over it would do nothing and leave the temp name behind.
  if (await sameFile(source, path)) return await syncFolder(dirname(path));
  await replaceAtomically(path, true, async (temp) => {
    if (!(await linkedPrivately(source, temp))) {
      await Deno.copyFile(source, temp);
      // The copy takes the mode of `source`; Windows has no such modes.
      if (Deno.build.os !== "windows") await Deno.chmod(temp, FILE_MODE);
      else restrictToOwner(temp); // when that fails, `backup` says so once
    }
    const file = await Deno.open(temp, { read: true, write: true });
    try {
      await file.sync();
    } finally {
      file.close();
    }
  });
}

/** Whether `a` and `b` are names of one file (false when either is missing). */
async function sameFile(a: string, b: string): Promise<boolean> {
  const [first, second] = await Promise.all([Deno.stat(a), Deno.stat(b).catch(() => undefined)]);
  return second !== undefined && sameInode(first, second);
}

/**
 * Makes `temp` a hard link to `source` when `source` has `FILE_MODE` (so no mode need change on
 * the file both names share); false when it does not, or the link fails (another file system:
 * EXDEV; one without links; Windows, left to the copy).
 */
async function linkedPrivately(source: string, temp: string): Promise<boolean> {
  if (Deno.build.os === "windows") return false;
  const info = await Deno.stat(source);
  if (!info.isFile || info.mode === null || (info.mode & 0o7777) !== FILE_MODE) return false;
  try {
    await Deno.link(source, temp);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw error;
    return false;
  }
}

/** Has `fill` create a synced temp file beside `path`, then renames it over `path`. */
async function replaceAtomically(
  path: string,
  createFolders: boolean,
  fill: (temp: string) => Promise<void>,
): Promise<void> {
  const folder = dirname(path);
  if (createFolders) await Deno.mkdir(folder, { recursive: true, mode: FOLDER_MODE });
  const temp = join(folder, `${TEMP_PREFIX}${randomHex(8)}`);
  let renamed = false;
  try {
    await fill(temp);
    await Deno.rename(temp, path);
    renamed = true;
    await syncFolder(folder);
  } finally {
    if (!renamed) await Deno.remove(temp).catch(() => {});
  }
}

/** Flushes a folder's entries (a rename) to disk where the OS allows it (not on Windows). */
async function syncFolder(folder: string): Promise<void> {
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(folder, { read: true });
    await handle.sync();
  } catch {
    // Not supported here (Windows cannot open folders); the rename itself is still atomic.
  } finally {
    handle?.close();
  }
}

/** Removes a file; succeeds if it is already gone. */
export async function removeIfPresent(path: string, options?: Deno.RemoveOptions): Promise<void> {
  try {
    await Deno.remove(path, options);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** True for names the local storage uses for itself (uploads, metadata, temp files). */
export function isReservedName(name: string): boolean {
  return name.startsWith(RESERVED_NAME_PREFIX);
}

/**
 * Classifies a file-system error: a missing file is `notFoundKind` (`not-found` for reads);
 * permissions, full or read-only disks and invalid paths are permanent; everything else
 * (I/O errors, timeouts on network shares) is transient.
 */
export function classifyFsError(
  error: unknown,
  operation: string,
  notFoundKind: StorageErrorKind = "not-found",
): StorageError {
  if (error instanceof StorageError) return error;
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ");
  let kind: StorageErrorKind = "transient";
  if (error instanceof Deno.errors.NotFound) {
    kind = notFoundKind;
  } else if (
    error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.AlreadyExists ||
    error instanceof Deno.errors.IsADirectory ||
    error instanceof Deno.errors.NotADirectory ||
    error instanceof Deno.errors.FilesystemLoop ||
    error instanceof Deno.errors.InvalidData ||
    error instanceof Deno.errors.NotSupported ||
    /os error (28|30|36|122)\b|no space left|read-only file system|name too long|quota/i.test(
      message,
    )
  ) {
    kind = "permanent";
  }
  return new StorageError(kind, `${operation} failed: ${message}`, { cause: error });
}
