/**
 * Writes restored entries under a destination folder and nowhere else:
 * - an entry path must be relative, with no empty, `.` or `..` segment; anything else is refused
 *   with `UnsafePathError`; a name the OS cannot hold as it is (`:` or `\` on Windows,
 *   windows_names.ts) makes the entry `blocked`, before anything is done with its path;
 * - every folder on the way is checked with `lstat` (a symlink or a file in the way blocks the
 *   entry: nothing is ever written through a symlink, whether the restore made it or it was there);
 * - file contents go to a staging file in `DIR/.glacier-restore/` first and are renamed into place,
 *   which replaces a symlink at the target instead of following it, and never leaves a
 *   half-written file under a real name;
 * - an existing entry is left alone (outcome `exists`) unless `overwrite` is set; a folder is
 *   never replaced by a file or symlink;
 * - with `restoreOwners` (a restore as root), entries get the owner stored in the volume; any
 *   entry whose owner is not restored loses its setuid, setgid and sticky bits (ownership.ts).
 */
import { join } from "node:path";
import { type Owner, restoredMode, restoreOwner } from "./ownership.ts";
import { unwritablePathReason } from "./windows_names.ts";
import type { SymlinkType } from "./symlink_type.ts";

/** Name of the staging folder inside the destination. */
export const STAGING_DIR_NAME = ".glacier-restore";

/** An entry path that would land outside the destination (or is malformed). */
export class UnsafePathError extends Error {
  override name = "UnsafePathError";
}

/**
 * What became of an entry: `written`; `identical` (already there, the same); `exists` (something
 * is there and `overwrite` is off); `blocked` (cannot be written safely, see `reason`); `nolink`
 * (a symlink, and this user may not create symlinks: Windows without Developer Mode or admin).
 */
export type WriteOutcome =
  | { kind: "written" }
  | { kind: "identical" }
  | { kind: "exists" }
  | { kind: "blocked"; reason: string }
  | { kind: "nolink" };

/** Settings of a writer. */
export interface RestoreWriterOptions {
  /** Replace existing files and symlinks (never folders). */
  overwrite: boolean;
  /** Give entries the owner and group stored in the volume (as root, without --no-same-owner). */
  restoreOwners?: boolean;
}

/** Per-entry settings. */
export interface EntryOptions {
  /**
   * Treat an existing entry that matches (same type, size and mtime second, or the same symlink
   * target) as already restored: for a rerun of an interrupted restore.
   */
  acceptIdentical?: boolean;
}

const isWindows = Deno.build.os === "windows";
const VERIFIED_CACHE_LIMIT = 4096;

/**
 * Checks an archive path and returns its segments; throws `UnsafePathError` for an absolute path,
 * an empty, `.` or `..` segment, a NUL byte, or a path inside the staging folder.
 */
export function entrySegments(path: string): string[] {
  const show = JSON.stringify(path);
  if (path === "" || path.includes("\0")) {
    throw new UnsafePathError(`refusing entry ${show}: not a valid path`);
  }
  if (path.startsWith("/") || (isWindows && /^[A-Za-z]:|^\\/.test(path))) {
    throw new UnsafePathError(`refusing entry ${show}: absolute paths are not restored`);
  }
  const segments = path.split("/");
  for (const segment of segments) {
    if (segment === "" || segment === "." || segment === "..") {
      throw new UnsafePathError(`refusing entry ${show}: it would be written outside the folder`);
    }
  }
  if (segments[0] === STAGING_DIR_NAME) {
    throw new UnsafePathError(`refusing entry ${show}: ${STAGING_DIR_NAME} is the restore's own`);
  }
  return segments;
}

/** Writes entries under one destination folder. */
export class RestoreWriter {
  readonly #root: string;
  readonly #staging: string;
  readonly #overwrite: boolean;
  readonly #restoreOwners: boolean;
  /** Relative folder paths already checked to be real folders. */
  readonly #verified = new Set<string>();
  /**
   * Folders whose owner could not be restored in this run (few, if any): they get no special
   * bits. A folder put in place by an earlier run of the same restore is taken as that run left it.
   */
  readonly #foldersNotOwned = new Set<string>();
  /** The owner a new file in the staging folder gets (known with `restoreOwners`). */
  #stagingOwner: Owner | undefined;
  /** The process's umask: a file created with a mode it keeps whole needs no chmod. */
  readonly #umask = isWindows ? 0o777 : Deno.umask();

  private constructor(root: string, options: RestoreWriterOptions) {
    this.#root = root;
    this.#staging = join(root, STAGING_DIR_NAME);
    this.#overwrite = options.overwrite;
    this.#restoreOwners = options.restoreOwners === true;
  }

  /**
   * A writer for `destination` (created if missing); its staging folder is created too. Throws
   * if the staging folder exists as anything but a real folder.
   */
  static async open(destination: string, options: RestoreWriterOptions): Promise<RestoreWriter> {
    await Deno.mkdir(destination, { recursive: true });
    const root = await Deno.realPath(destination);
    const writer = new RestoreWriter(root, options);
    await writer.#ensureStaging();
    return writer;
  }

  /** The destination folder, resolved. */
  get root(): string {
    return this.#root;
  }

  /** The staging folder (`DIR/.glacier-restore`), for downloads and partial files. */
  get stagingDir(): string {
    return this.#staging;
  }

  async #ensureStaging(): Promise<void> {
    try {
      await Deno.mkdir(this.#staging, { mode: 0o700 });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const info = await Deno.lstat(this.#staging);
    if (info.isSymlink || !info.isDirectory) {
      throw new UnsafePathError(`${this.#staging} exists and is not a folder: remove it first`);
    }
  }

  /**
   * Creates a folder (mode 0700 until `setFolderAttributes`); an existing folder is kept. With
   * `restoreOwners`, the folder (new or kept) gets `owner`.
   */
  async directory(path: string, owner?: Owner): Promise<WriteOutcome> {
    const segments = entrySegments(path);
    const blocked = await this.#parents(segments, true);
    if (blocked) return blocked;
    const full = join(this.#root, ...segments);
    const info = await lstatOrUndefined(full);
    if (info?.isDirectory && !info.isSymlink) {
      this.#remember(path);
      await this.#ownFolder(path, full, owner);
      return { kind: "identical" };
    }
    if (info) {
      if (!this.#overwrite) {
        return { kind: "blocked", reason: "something other than a folder is in the way" };
      }
      await Deno.remove(full);
    }
    try {
      await Deno.mkdir(full, { mode: 0o700 });
    } catch (error) {
      // Another volume being extracted at the same time may have made it as a parent folder.
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      const now = await Deno.lstat(full);
      if (!now.isDirectory || now.isSymlink) {
        return { kind: "blocked", reason: "something other than a folder is in the way" };
      }
    }
    this.#remember(path);
    await this.#ownFolder(path, full, owner);
    return { kind: "written" };
  }

  /** Gives a folder its owner now (root writes into it all the same); notes a failure. */
  async #ownFolder(path: string, full: string, owner: Owner | undefined): Promise<void> {
    if (!this.#restoreOwners) return;
    this.#stagingOwner = await newFileOwner(this.#staging);
    if (owner && await restoreOwner(full, owner)) this.#foldersNotOwned.delete(path);
    else this.#foldersNotOwned.add(path);
  }

  /**
   * Writes a file from `body` (a stream, or the whole content) with `mode` and `mtime`
   * (seconds), and with `restoreOwners` its `owner`. A body stream is consumed or cancelled in
   * every case. `stagingName` must be unique among concurrent writes.
   */
  async file(
    path: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    meta: { size: number; mode: number; mtime: number; owner?: Owner },
    stagingName: string,
    options: EntryOptions = {},
  ): Promise<WriteOutcome> {
    let consumed = false;
    try {
      const segments = entrySegments(path);
      const blocked = await this.#parents(segments, true);
      if (blocked) return blocked;
      const full = join(this.#root, ...segments);
      const info = await lstatOrUndefined(full);
      if (info) {
        if (
          options.acceptIdentical && info.isFile && info.size === meta.size &&
          info.mtime !== null && Math.floor(info.mtime.getTime() / 1000) === meta.mtime
        ) {
          return { kind: "identical" };
        }
        const refused = this.#refuseReplacing(info);
        if (refused) return refused;
        // Windows may refuse to replace a read-only file (one an earlier restore made, say).
        if (isWindows && info.isFile && ((info.mode ?? 0o200) & 0o200) === 0) {
          await Deno.chmod(full, 0o644);
        }
      }
      const staging = join(this.#staging, stagingName);
      consumed = true;
      // A plain mode the umask keeps whole is given at creation (chown leaves it as it is).
      const plainMode = (meta.mode & 0o7777 & (0o7000 | this.#umask)) === 0;
      const time = new Date(meta.mtime * 1000);
      await writeStagingFile(staging, body, time, plainMode ? meta.mode & 0o777 : 0o600);
      // The owner first: chown clears setuid and setgid.
      const owned = this.#ownsAlready(meta.owner) ||
        await this.#giveOwner(staging, meta.owner, false);
      if (!isWindows && !plainMode) await Deno.chmod(staging, restoredMode(meta.mode, owned));
      // Windows keeps one mode bit, read-only: a file stored without the owner's write bit gets it.
      if (isWindows && (meta.mode & 0o200) === 0) await Deno.chmod(staging, 0o444);
      await Deno.rename(staging, full);
      return { kind: "written" };
    } finally {
      if (!consumed && body instanceof ReadableStream) await body.cancel().catch(() => {});
    }
  }

  /**
   * Creates a symlink to `target` (stored as is; it is never followed by the restore), of `type`
   * on Windows (see symlink_type.ts), and with `restoreOwners` gives the link itself `owner`.
   */
  async symlink(
    path: string,
    target: string,
    stagingName: string,
    options: EntryOptions = {},
    owner?: Owner,
    type?: SymlinkType,
  ): Promise<WriteOutcome> {
    const segments = entrySegments(path);
    const blocked = await this.#parents(segments, true);
    if (blocked) return blocked;
    const full = join(this.#root, ...segments);
    const info = await lstatOrUndefined(full);
    if (!info) {
      if (!await createSymlink(target, full, type)) return { kind: "nolink" };
      await this.#giveOwner(full, owner, true);
      return { kind: "written" };
    }
    if (options.acceptIdentical && info.isSymlink && (await Deno.readLink(full)) === target) {
      return { kind: "identical" };
    }
    const refused = this.#refuseReplacing(info);
    if (refused) return refused;
    const staging = await this.#clearStaging(stagingName);
    if (!await createSymlink(target, staging, type)) return { kind: "nolink" };
    await this.#giveOwner(staging, owner, true);
    await Deno.rename(staging, full);
    return { kind: "written" };
  }

  /**
   * Makes `path` a new name (hardlink) of the file at `target`, a file this restore wrote. Both
   * paths are resolved under the destination and never through a symlink; the target must be a
   * regular file.
   */
  async hardlink(
    path: string,
    target: string,
    stagingName: string,
    options: EntryOptions = {},
  ): Promise<WriteOutcome> {
    const segments = entrySegments(path);
    const targetSegments = entrySegments(target);
    const blocked = await this.#parents(segments, true);
    if (blocked) return blocked;
    if (await this.#parents(targetSegments, false)) {
      return { kind: "blocked", reason: `the file it links to, ${target}, is not reachable` };
    }
    const targetFull = join(this.#root, ...targetSegments);
    const targetInfo = await lstatOrUndefined(targetFull);
    if (!targetInfo?.isFile || targetInfo.isSymlink) {
      return { kind: "blocked", reason: `the file it links to, ${target}, is not there` };
    }
    const full = join(this.#root, ...segments);
    const info = await lstatOrUndefined(full);
    if (!info) {
      await Deno.link(targetFull, full);
      return { kind: "written" };
    }
    const sameFile = info.isFile && info.ino !== null && info.ino === targetInfo.ino &&
      info.dev === targetInfo.dev;
    if (options.acceptIdentical && sameFile) return { kind: "identical" };
    const refused = this.#refuseReplacing(info);
    if (refused) return refused;
    const staging = await this.#clearStaging(stagingName);
    await Deno.link(targetFull, staging);
    await Deno.rename(staging, full);
    // Renaming onto another name of the same file does nothing and leaves the staging name.
    await Deno.remove(staging).catch(() => {});
    return { kind: "written" };
  }

  /**
   * Why an entry found in place (`info`, from lstat) may not be replaced: `exists` unless
   * `overwrite` is set, `blocked` for a real folder; undefined when it may be replaced.
   */
  #refuseReplacing(info: Deno.FileInfo): WriteOutcome | undefined {
    if (!this.#overwrite) return { kind: "exists" };
    if (info.isDirectory && !info.isSymlink) {
      return { kind: "blocked", reason: "a folder is in the way" };
    }
    return undefined;
  }

  /** The staging path named `stagingName`, with anything an earlier run left there removed. */
  async #clearStaging(stagingName: string): Promise<string> {
    const staging = join(this.#staging, stagingName);
    await Deno.remove(staging).catch(() => {});
    return staging;
  }

  /**
   * Sets a restored folder's mode and mtime (done last, once its contents are in), without
   * setuid, setgid and sticky unless its owner was restored. Does nothing when the folder is not
   * there as a real folder; never creates anything.
   */
  async setFolderAttributes(path: string, mode: number, mtimeMs: number): Promise<boolean> {
    const segments = entrySegments(path);
    if (await this.#parents(segments, false)) return false;
    const full = join(this.#root, ...segments);
    const info = await lstatOrUndefined(full);
    if (!info?.isDirectory || info.isSymlink) return false;
    const owned = this.#restoreOwners && !this.#foldersNotOwned.has(path);
    if (!isWindows) await Deno.chmod(full, restoredMode(mode, owned));
    const time = new Date(mtimeMs);
    await Deno.utime(full, time, time);
    return true;
  }

  /** True when owners are restored and a new staging file has `owner` already. */
  #ownsAlready(owner: Owner | undefined): boolean {
    const own = this.#stagingOwner;
    return owner !== undefined && own !== undefined && owner.uid === own.uid &&
      owner.gid === own.gid;
  }

  /** Gives `path` its owner when owners are restored; true when it has it. */
  async #giveOwner(path: string, owner: Owner | undefined, symlink: boolean): Promise<boolean> {
    if (!this.#restoreOwners || !owner) return false;
    return await restoreOwner(path, owner, { symlink });
  }

  /** Removes the staging folder and what is left in it. */
  async removeStaging(): Promise<void> {
    await Deno.remove(this.#staging, { recursive: true }).catch(() => {});
  }

  /**
   * Makes sure every name of the entry can be written here and every folder above it is a real
   * folder (creating missing ones when `create`); returns a `blocked` outcome naming the first
   * one that is not.
   */
  async #parents(segments: string[], create: boolean): Promise<WriteOutcome | undefined> {
    const unwritable = unwritablePathReason(segments);
    if (unwritable !== undefined) return { kind: "blocked", reason: unwritable };
    let relative = "";
    for (let i = 0; i < segments.length - 1; i++) {
      relative = relative === "" ? segments[i] : `${relative}/${segments[i]}`;
      if (this.#verified.has(relative)) continue;
      const full = join(this.#root, relative);
      let info = await lstatOrUndefined(full);
      if (!info) {
        if (!create) return { kind: "blocked", reason: `${relative} does not exist` };
        try {
          await Deno.mkdir(full);
        } catch (error) {
          if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        }
        info = await Deno.lstat(full);
      }
      if (info.isSymlink) {
        return { kind: "blocked", reason: `${relative} is a symlink; not writing through it` };
      }
      if (!info.isDirectory) return { kind: "blocked", reason: `${relative} is not a folder` };
      this.#remember(relative);
    }
    return undefined;
  }

  #remember(relative: string): void {
    if (this.#verified.size >= VERIFIED_CACHE_LIMIT) this.#verified.clear();
    this.#verified.add(relative);
  }
}

/**
 * Creates a symlink; false when the OS does not let this user create any (Windows without
 * Developer Mode or an administrator's right: "a required privilege is not held", error 1314).
 */
async function createSymlink(target: string, at: string, type?: SymlinkType): Promise<boolean> {
  try {
    await Deno.symlink(target, at, type && { type });
    return true;
  } catch (error) {
    if (
      isWindows &&
      (error instanceof Deno.errors.PermissionDenied || /os error 1314\b/.test(String(error)))
    ) {
      return false;
    }
    throw error;
  }
}

/** The owner a new file in `folder` gets (the folder's group when it is setgid, as the system does). */
async function newFileOwner(folder: string): Promise<Owner> {
  const probe = join(folder, `owner-probe-${crypto.randomUUID()}`);
  await Deno.writeFile(probe, new Uint8Array(0), { createNew: true, mode: 0o600 });
  try {
    const info = await Deno.lstat(probe);
    return { uid: info.uid!, gid: info.gid! };
  } finally {
    await Deno.remove(probe);
  }
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Writes `body` to a fresh file at `path` (with `mode`, replacing any leftover) and gives it
 * `mtime` (chown and chmod leave it as it is).
 */
async function writeStagingFile(
  path: string,
  body: ReadableStream<Uint8Array> | Uint8Array,
  mtime: Date,
  mode: number,
): Promise<void> {
  const file = await createFresh(path, mode);
  try {
    if (body instanceof Uint8Array) {
      // A whole (small) body goes in with plain calls: each async call on an open file costs a
      // copy of its handle and two thread switches, more than writing a few KiB.
      for (let written = 0; written < body.length;) {
        written += file.writeSync(body.subarray(written));
      }
      file.utimeSync(mtime, mtime);
    } else {
      for await (const chunk of body) await writeAll(file, chunk);
      await file.utime(mtime, mtime);
    }
  } catch (error) {
    file.close();
    await Deno.remove(path).catch(() => {});
    throw error;
  }
  file.close();
}

/** Creates `path` as a new file, removing a leftover only when there is one (one call, mostly). */
async function createFresh(path: string, mode: number): Promise<Deno.FsFile> {
  const options = { write: true, createNew: true, mode };
  try {
    return await Deno.open(path, options);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    await Deno.remove(path);
    return await Deno.open(path, options);
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
