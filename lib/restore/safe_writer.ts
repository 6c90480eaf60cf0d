/**
 * Writes restored entries under a destination folder and nowhere else:
 * - an entry path must be relative, with no empty, `.` or `..` segment; anything else is refused
 *   with `UnsafePathError`; a name the OS cannot hold as it is (`:` or `\` on Windows,
 *   windows_names.ts) makes the entry `blocked`, before anything is done with its path;
 * - every folder on the way is checked with `lstat` (a symlink or a file in the way blocks the
 *   entry: nothing is ever written through a symlink, whether the restore made it or it was there);
 * - file contents go to a part file in the staging folder `DIR/.glacier-restore/` first, named
 *   after the run, and are given their name only when complete, so a crash never leaves a
 *   half-written file under a real name (a killed run's part files stay in the staging folder,
 *   which the next run that finishes removes): without `overwrite` by a hard link to the new
 *   name, which fails on anything already there (even a dangling symlink), then the part name is
 *   removed; with `overwrite` (or where the file system has no hard links) by a rename, which
 *   replaces a symlink instead of following it; into a folder this run made (nothing of the
 *   user's can be in it) by a rename too, one call instead of three. (Part files in the entry's
 *   own folder were measured too: the same on tmpfs, up to twice the system time on ext4.) The
 *   one exception: small files placed on a worker into a folder this run made are written in
 *   place, named first in a journal, and a later run replaces what a killed one left
 *   half-written there (placing_journal.ts);
 * - small files are written with plain (synchronous) calls, as few as possible (one creates,
 *   writes and closes the part file): each async call costs a hand-over to another thread, more
 *   than writing a few KiB; large files are streamed;
 * - an existing entry is left alone (outcome `exists`) unless `overwrite` is set; a folder is
 *   never replaced by a file or symlink;
 * - with `restoreOwners` (a restore as root), entries get the owner stored in the volume; any
 *   entry whose owner is not restored loses its setuid, setgid and sticky bits (ownership.ts).
 */
import { existsSync } from "node:fs";
import { join, sep } from "node:path";
import { type Owner, restoredMode, restoreLinkOwnerSync, restoreOwnerSync } from "./ownership.ts";
import {
  lstatOrUndefined,
  PartPlacer,
  type Placement,
  type PlacerSettings,
  refuseReplacing,
  removeQuietly,
} from "./part_placer.ts";
import { unwritablePathReason } from "./windows_names.ts";
import {
  encodeJournal,
  isHalfWritten,
  JOURNAL_SUFFIX,
  type JournalEntry,
  PlacingJournal,
  readLeftovers,
  stillHalfWritten,
} from "./placing_journal.ts";
import { hasPlainNames } from "./entry_names.ts";
import type { SymlinkType } from "./symlink_type.ts";
import { writeAll } from "../storage/write_all.ts";
import { sameInode } from "../storage/same_inode.ts";

/** Name of the staging folder inside the destination (volume downloads, part files). */
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
const CREATED_CACHE_LIMIT = 65536;

/**
 * Checks an archive path and returns its segments; throws `UnsafePathError` for an absolute path,
 * an empty, `.` or `..` segment, a NUL byte, or a path inside the staging folder.
 */
export function entrySegments(path: string): string[] {
  assertEntryPath(path);
  return path.split("/");
}

/**
 * The checks of `entrySegments` without splitting the path (one scan, nothing allocated): for
 * the many entries of a volume whose folder is known already.
 */
export function assertEntryPath(path: string): void {
  const refuse = (why: string) =>
    new UnsafePathError(`refusing entry ${JSON.stringify(path)}: ${why}`);
  if (path === "" || path.includes("\0")) throw refuse("not a valid path");
  if (path.startsWith("/") || (isWindows && /^[A-Za-z]:|^\\/.test(path))) {
    throw refuse("absolute paths are not restored");
  }
  if (!hasPlainNames(path)) throw refuse("it would be written outside the folder");
  if (
    path.startsWith(STAGING_DIR_NAME) &&
    (path.length === STAGING_DIR_NAME.length || path[STAGING_DIR_NAME.length] === "/")
  ) {
    throw refuse(`${STAGING_DIR_NAME} is the restore's own`);
  }
}

/** A file's metadata, as the volume gives it (`mtime` in seconds). */
export interface FileMeta {
  size: number;
  mode: number;
  mtime: number;
  owner?: Owner;
}

/** Where a file entry's part file goes, and whether what is at its name was checked already. */
interface PreparedFile extends Placement {
  part: string;
}

/** A file's part file, written in full and not yet given its name (`RestoreWriter.stageSync`). */
export interface StagedFile {
  readonly part: string;
}

/** Writes entries under one destination folder. */
export class RestoreWriter {
  readonly #root: string;
  /** `#root` with a separator after it, to put an entry path under. */
  readonly #rootPrefix: string;
  readonly #staging: string;
  readonly #overwrite: boolean;
  readonly #restoreOwners: boolean;
  /** Random, so that no part file name of this run is one an earlier (killed) run left. */
  readonly #runId = crypto.randomUUID();
  /** Placers made for other threads so far (each names its own files, `newPlacerFiles`). */
  #placers = 0;
  /**
   * Files earlier runs named in their journals (placing_journal.ts), by entry path: one still
   * half-written is replaced when this run restores its path.
   */
  #leftovers = new Map<string, JournalEntry>();
  /** Relative folder paths already checked to be real folders. */
  readonly #verified = new Set<string>();
  /**
   * Relative paths of folders this writer created (bounded like `#verified`: a folder forgotten
   * is treated as any other). Nothing was in them when they were made, so a file going into one
   * is renamed into place (one call) instead of hard-linked and unlinked (three).
   */
  readonly #created = new Set<string>();
  /**
   * Folders whose owner could not be restored in this run (few, if any): they get no special
   * bits. A folder put in place by an earlier run of the same restore is taken as that run left it.
   */
  readonly #foldersNotOwned = new Set<string>();
  /** Writes part files and gives them their names (also on a worker: `placerSettings`). */
  readonly #placer: PartPlacer;
  readonly #placerSettings: PlacerSettings;

  private constructor(root: string, options: RestoreWriterOptions) {
    this.#root = root;
    this.#rootPrefix = root.endsWith(sep) ? root : `${root}${sep}`;
    this.#staging = join(root, STAGING_DIR_NAME);
    this.#overwrite = options.overwrite;
    this.#restoreOwners = options.restoreOwners === true;
    // The process's umask: a file created with a mode it keeps whole needs no chmod.
    const umask = isWindows ? 0o777 : Deno.umask();
    this.#placerSettings = {
      overwrite: this.#overwrite,
      restoreOwners: this.#restoreOwners,
      umask,
      // In place only where folders this run makes are writable by their owner alone, so that
      // the calls made by path after a file's creation reach that file (see `writeInPlaceSync`).
      inPlace: !isWindows && (umask & 0o022) === 0o022,
    };
    this.#placer = new PartPlacer(
      this.#placerSettings,
      `${this.#staging}${sep}${this.#runId}-`,
    );
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
    writer.#leftovers = readLeftovers(writer.#staging);
    return writer;
  }

  /** The destination folder, resolved. */
  get root(): string {
    return this.#root;
  }

  /** The staging folder (`DIR/.glacier-restore`), for downloads and part files. */
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
   * Creates a folder (mode 0700 until `setFolderAttributes`), with plain calls; an existing
   * folder is kept. With `restoreOwners`, the folder (new or kept) gets `owner`.
   */
  directory(path: string, owner?: Owner): WriteOutcome {
    const segments = entrySegments(path);
    const blocked = this.#parents(segments, true);
    if (blocked) return blocked;
    const full = this.#under(segments);
    const isFolder = (info: Deno.FileInfo) => info.isDirectory && !info.isSymlink;
    const inTheWay: WriteOutcome = {
      kind: "blocked",
      reason: "something other than a folder is in the way",
    };
    // Made at once where nothing is, the usual case (see `madeUnlessTaken`).
    const make = () => Deno.mkdirSync(full, { mode: 0o700 });
    let taken = madeUnlessTaken(full, make);
    if (taken && isFolder(taken)) {
      this.#remember(path);
      this.#ownFolder(path, full, owner);
      return { kind: "identical" };
    }
    if (taken) {
      if (!this.#overwrite) return inTheWay;
      Deno.removeSync(full);
      // Another volume being extracted at the same time may make it as a parent folder now.
      taken = madeUnlessTaken(full, make);
      if (taken && !isFolder(taken)) return inTheWay;
    }
    if (!taken) this.#madeFolder(path);
    this.#remember(path);
    this.#ownFolder(path, full, owner);
    return { kind: "written" };
  }

  /** Gives a folder its owner now (root writes into it all the same); notes a failure. */
  #ownFolder(path: string, full: string, owner: Owner | undefined): void {
    if (!this.#restoreOwners) return;
    if (owner && restoreOwnerSync(full, owner)) this.#foldersNotOwned.delete(path);
    else this.#foldersNotOwned.add(path);
  }

  /**
   * Writes a file from `body` (a stream, or the whole content) with `meta`'s mode and mtime, and
   * with `restoreOwners` its owner. A body stream is consumed or cancelled in every case.
   */
  async file(
    path: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    meta: FileMeta,
    options: EntryOptions = {},
  ): Promise<WriteOutcome> {
    if (body instanceof Uint8Array) return this.fileSync(path, body, meta, options);
    let consumed = false;
    try {
      const placed = this.#prepareFile(path, meta, options);
      if ("kind" in placed) return placed;
      consumed = true;
      await this.#writePart(placed.part, body, meta);
      return this.#placePart(placed.part, placed, meta);
    } finally {
      if (!consumed) await body.cancel().catch(() => {});
    }
  }

  /**
   * `file` for a whole (small) body, with plain calls, as few as the work allows (each costs a
   * hand-over into Deno; a restore of small files is made of little else): see `#writePartSync`;
   * then the hard link (or rename) into place.
   */
  fileSync(
    path: string,
    body: Uint8Array,
    meta: FileMeta,
    options: EntryOptions = {},
  ): WriteOutcome {
    const placed = this.#prepareFile(path, meta, options);
    if ("kind" in placed) return placed;
    this.#writePartSync(placed.part, body, meta);
    return this.#placePart(placed.part, placed, meta);
  }

  /**
   * Writes a file's content, mtime, owner and mode to a new part file in the staging folder,
   * and nothing under the destination: for a volume whose check is not over yet. `placeStaged`
   * gives it its name later (or `discardStaged` removes it).
   */
  stageSync(body: Uint8Array, meta: FileMeta): StagedFile {
    const part = this.#partPath();
    this.#writePartSync(part, body, meta);
    return { part };
  }

  /** `stageSync` for a body stream (consumed or cancelled in every case). */
  async stage(body: ReadableStream<Uint8Array>, meta: FileMeta): Promise<StagedFile> {
    const part = this.#partPath();
    await this.#writePart(part, body, meta);
    return { part };
  }

  /**
   * Gives a staged file its name at `path`, with the checks and outcomes of `file` (the part is
   * removed when it does not go in).
   */
  placeStaged(
    path: string,
    staged: StagedFile,
    meta: FileMeta,
    options: EntryOptions = {},
  ): WriteOutcome {
    let placed: ReturnType<RestoreWriter["checkFile"]>;
    try {
      placed = this.checkFile(path, meta, options);
    } catch (error) {
      removeQuietly(staged.part);
      throw error;
    }
    if ("kind" in placed) {
      removeQuietly(staged.part);
      return placed;
    }
    return this.#placePart(staged.part, placed, meta);
  }

  /** Removes a staged file that will not be placed. */
  discardStaged(staged: StagedFile): void {
    removeQuietly(staged.part);
  }

  /** See `PartPlacer.writeSync`. */
  #writePartSync(part: string, body: Uint8Array, meta: FileMeta): void {
    this.#placer.writeSync(part, body, meta);
  }

  /**
   * Streams `body` into a new part file, then its mtime; its owner (with `restoreOwners`: the
   * open file tells whether it has it already); then its mode unless it was created with it
   * (`plain`), as chown clears setuid and setgid. Removes it on failure.
   */
  async #writePart(part: string, body: ReadableStream<Uint8Array>, meta: FileMeta): Promise<void> {
    const { mode, plain } = this.#placer.partMode(meta);
    try {
      const file = await Deno.open(part, { write: true, createNew: true, mode });
      try {
        for await (const chunk of body) await writeAll(file, chunk);
        const time = new Date(meta.mtime * 1000);
        file.utimeSync(time, time);
        let owned = false;
        if (this.#restoreOwners && meta.owner) {
          const info = file.statSync();
          owned = (info.uid === meta.owner.uid && info.gid === meta.owner.gid) ||
            restoreOwnerSync(part, meta.owner);
        }
        if (!isWindows && !plain) Deno.chmodSync(part, restoredMode(meta.mode, owned));
      } finally {
        file.close();
      }
    } catch (error) {
      await body.cancel().catch(() => {});
      removeQuietly(part);
      throw error;
    }
  }

  /** See `PartPlacer.placePart`. */
  #placePart(part: string, placement: Placement, meta: FileMeta): WriteOutcome {
    return this.#placer.placePart(part, placement, meta);
  }

  /**
   * Checks a file entry's way and what is at its name; returns the outcome when it is not to be
   * written, else where its part file goes, the mode to create it with, and whether what is at
   * its name was checked already (with `overwrite`, `acceptIdentical`, or without hard links).
   */
  #prepareFile(path: string, meta: FileMeta, options: EntryOptions): WriteOutcome | PreparedFile {
    const placed = this.checkFile(path, meta, options);
    return "kind" in placed ? placed : { ...placed, part: this.#partPath() };
  }

  /**
   * Checks a file entry's way (creating missing folders on it) and what is at its name; returns
   * the outcome when it is not to be written, else its full path and whether what is at its name
   * was checked already (with `overwrite`, `acceptIdentical`, or without hard links).
   */
  checkFile(
    path: string,
    meta: FileMeta,
    options: EntryOptions,
  ): WriteOutcome | Placement {
    const folder = this.#folderOf(path);
    if (typeof folder !== "string") return folder;
    const full = this.#underRoot(path);
    const leftover = this.#leftovers.get(path);
    const madeNow = folder !== "" && this.#created.has(folder);
    // The name is looked at before anything is written: to replace what is there (`overwrite`,
    // a half-written leftover), where no hard link refuses a taken name...
    const mustLook = this.#overwrite || !this.#placer.linksWork || leftover !== undefined;
    // ...and to accept a file an earlier run of the same restore wrote. A folder this run made
    // held nothing when it was made, so none can be in it (and no look that finds nothing, 8 us
    // a file, for the volumes a resumed restore had not begun).
    const forIdentical = options.acceptIdentical === true && !madeNow;
    // Where only that look is wanted and `existsSync` finds nothing (without the error a look
    // throws there: 2.3 against 7.7 us), no file is: the entry is placed as if unchecked, by a
    // link, which refuses a taken name (a dangling symlink, which `existsSync` misses, included).
    if (forIdentical && !mustLook && !existsSync(full)) {
      return { full, checked: false, fresh: false };
    }
    const checked = mustLook || forIdentical;
    const fresh = !checked && madeNow;
    if (checked) {
      const info = lstatOrUndefined(full);
      if (info) {
        if (
          options.acceptIdentical && info.isFile && info.size === meta.size &&
          info.mtime !== null && Math.floor(info.mtime.getTime() / 1000) === meta.mtime
        ) {
          return { kind: "identical" };
        }
        // A file a killed run was writing is replaced; anything else only with `overwrite`.
        const refused = leftover && isHalfWritten(info, leftover)
          ? undefined
          : this.#refuseReplacing(info);
        if (refused) return refused;
        // Windows may refuse to replace a read-only file (one an earlier restore made, say).
        if (isWindows && info.isFile && ((info.mode ?? 0o200) & 0o200) === 0) {
          Deno.chmodSync(full, 0o644);
        }
      }
    }
    return { full, checked, fresh };
  }

  /**
   * What a placer on another thread needs to place files as this writer does: its settings, a
   * journal of its own for the files it writes in place (placing_journal.ts), and a start of
   * part file names (see `PartPlacer`) no other placer's or this writer's names share.
   */
  newPlacerFiles(): { settings: PlacerSettings; journal: PlacingJournal; partPrefix: string } {
    const base = `${this.#staging}${sep}${this.#runId}-p${this.#placers++}`;
    return {
      settings: { ...this.#placerSettings },
      journal: new PlacingJournal(base, this.#root),
      partPrefix: base,
    };
  }

  /** A fresh part file path in the staging folder. */
  #partPath(): string {
    return this.#placer.newPart();
  }

  /**
   * The full path of checked segments (entrySegments: no empty, `.` or `..` one), joined
   * without `join`'s normalizing, which costs more than the rest of a small file's bookkeeping.
   */
  #under(segments: string[]): string {
    return this.#rootPrefix + segments.join(sep);
  }

  /** `#under` for a path checked by `assertEntryPath`, without splitting it. */
  #underRoot(path: string): string {
    return this.#rootPrefix + (sep === "/" ? path : path.replaceAll("/", sep));
  }

  /**
   * The folder (entry path) an entry goes into, made and checked as `#parents` does, or why the
   * entry cannot be written. Checks the path first (throws `UnsafePathError`). A folder checked
   * already was checked with every folder above it: off Windows (where each name needs a look
   * of its own) its entries need no split.
   */
  #folderOf(path: string): WriteOutcome | string {
    assertEntryPath(path);
    const cut = path.lastIndexOf("/");
    const folder = cut < 0 ? "" : path.slice(0, cut);
    if (!isWindows && folder !== "" && this.#verified.has(folder)) return folder;
    return this.#parents(path.split("/"), true) ?? folder;
  }

  /**
   * Creates a symlink to `target` (stored as is; it is never followed by the restore), of `type`
   * on Windows (see symlink_type.ts), and with `restoreOwners` gives the link itself `owner`.
   * With plain calls, as the files and folders are written.
   */
  symlink(
    path: string,
    target: string,
    options: EntryOptions = {},
    owner?: Owner,
    type?: SymlinkType,
  ): WriteOutcome {
    const segments = entrySegments(path);
    const blocked = this.#parents(segments, true);
    if (blocked) return blocked;
    const full = this.#under(segments);
    let linked = false;
    const info = madeUnlessTaken(full, () => linked = createSymlink(target, full, type));
    if (!info) {
      if (!linked) return { kind: "nolink" };
      this.#giveLinkOwner(full, owner);
      return { kind: "written" };
    }
    if (options.acceptIdentical && info.isSymlink && Deno.readLinkSync(full) === target) {
      return { kind: "identical" };
    }
    const refused = this.#refuseReplacing(info);
    if (refused) return refused;
    const part = this.#partPath();
    try {
      if (!createSymlink(target, part, type)) return { kind: "nolink" };
      this.#giveLinkOwner(part, owner);
      Deno.renameSync(part, full);
      return { kind: "written" };
    } finally {
      removeQuietly(part);
    }
  }

  /**
   * Makes `path` a new name (hardlink) of the file at `target`, a file this restore wrote. Both
   * paths are resolved under the destination and never through a symlink; the target must be a
   * regular file.
   */
  hardlink(path: string, target: string, options: EntryOptions = {}): WriteOutcome {
    const segments = entrySegments(path);
    const targetSegments = entrySegments(target);
    const blocked = this.#parents(segments, true);
    if (blocked) return blocked;
    if (this.#parents(targetSegments, false)) {
      return { kind: "blocked", reason: `the file it links to, ${target}, is not reachable` };
    }
    const targetFull = this.#under(targetSegments);
    const targetInfo = lstatOrUndefined(targetFull);
    if (!targetInfo?.isFile || targetInfo.isSymlink) {
      return { kind: "blocked", reason: `the file it links to, ${target}, is not there` };
    }
    const full = this.#under(segments);
    const info = madeUnlessTaken(full, () => Deno.linkSync(targetFull, full));
    if (!info) return { kind: "written" };
    const sameFile = info.isFile && sameInode(info, targetInfo);
    if (options.acceptIdentical && sameFile) return { kind: "identical" };
    const refused = this.#refuseReplacing(info);
    if (refused) return refused;
    const part = this.#partPath();
    try {
      Deno.linkSync(targetFull, part);
      // Renaming onto another name of the same file does nothing and leaves the part name.
      Deno.renameSync(part, full);
      return { kind: "written" };
    } finally {
      removeQuietly(part);
    }
  }

  /** See `refuseReplacing` (part_placer.ts). */
  #refuseReplacing(info: Deno.FileInfo): WriteOutcome | undefined {
    return refuseReplacing(info, this.#overwrite);
  }

  /**
   * Sets a restored folder's mode and mtime (done last, once its contents are in), without
   * setuid, setgid and sticky unless its owner was restored. Does nothing when the folder is not
   * there as a real folder; never creates anything. With plain calls: an async call each cost
   * 80 µs a folder (0.1 s at the end of a restore of 1,000 folders, against 0.02 s).
   */
  setFolderAttributes(path: string, mode: number, mtimeMs: number): boolean {
    const segments = entrySegments(path);
    if (this.#parents(segments, false)) return false;
    const full = this.#under(segments);
    const info = lstatOrUndefined(full);
    if (!info?.isDirectory || info.isSymlink) return false;
    const owned = this.#restoreOwners && !this.#foldersNotOwned.has(path);
    if (!isWindows) Deno.chmodSync(full, restoredMode(mode, owned));
    const time = new Date(mtimeMs);
    Deno.utimeSync(full, time, time);
    return true;
  }

  /** Gives the symlink at `path` itself its owner, when owners are restored. */
  #giveLinkOwner(path: string, owner: Owner | undefined): void {
    if (this.#restoreOwners && owner) restoreLinkOwnerSync(path, owner);
  }

  /**
   * Removes the staging folder and what is left in it, at the end of a run that went through.
   * Files an earlier run left half-written and this run did not restore (another restore's, into
   * the same folder) are kept in one journal in it, and returned, for that restore to finish.
   */
  async removeStaging(): Promise<JournalEntry[]> {
    const left = stillHalfWritten(this.#root, this.#leftovers);
    if (left.length === 0) {
      await Deno.remove(this.#staging, { recursive: true }).catch(() => {});
      return left;
    }
    const kept = `${this.#runId}-left${JOURNAL_SUFFIX}`;
    Deno.writeFileSync(join(this.#staging, kept), encodeJournal(left));
    for (const entry of Deno.readDirSync(this.#staging)) {
      if (entry.name === kept) continue;
      await Deno.remove(join(this.#staging, entry.name), { recursive: true }).catch(() => {});
    }
    return left;
  }

  /**
   * Makes sure every name of the entry can be written here and every folder above it is a real
   * folder (creating missing ones when `create`); returns a `blocked` outcome naming the first
   * one that is not.
   */
  #parents(segments: string[], create: boolean): WriteOutcome | undefined {
    const unwritable = unwritablePathReason(segments);
    if (unwritable !== undefined) return { kind: "blocked", reason: unwritable };
    let relative = "";
    for (let i = 0; i < segments.length - 1; i++) {
      relative = relative === "" ? segments[i] : `${relative}/${segments[i]}`;
      if (this.#verified.has(relative)) continue;
      const full = join(this.#root, relative);
      let info = lstatOrUndefined(full);
      if (!info) {
        if (!create) return { kind: "blocked", reason: `${relative} does not exist` };
        try {
          Deno.mkdirSync(full);
          // Made just now: a real folder, no need to look again.
          this.#madeFolder(relative);
          this.#remember(relative);
          continue;
        } catch (error) {
          if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        }
        info = Deno.lstatSync(full);
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

  #madeFolder(relative: string): void {
    if (this.#created.size >= CREATED_CACHE_LIMIT) this.#created.clear();
    this.#created.add(relative);
  }
}

/**
 * Runs `make`, which creates an entry at `full`, unless something is there already; returns what
 * is there (undefined when `make` ran). Where nothing is, the usual case, `make` runs at once: a
 * look first that finds nothing throws, which costs more than making the entry. The calls that
 * make one (link, symlink, mkdir) refuse a name that is taken, and then `full` is looked at. On
 * Windows it is looked at first: there they may not refuse (under Wine a symlink made over a
 * folder reports success).
 */
function madeUnlessTaken(full: string, make: () => void): Deno.FileInfo | undefined {
  if (isWindows) {
    const taken = lstatOrUndefined(full);
    if (taken) return taken;
  }
  try {
    make();
    return undefined;
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  return Deno.lstatSync(full);
}

/**
 * Creates a symlink; false when the OS does not let this user create any (Windows without
 * Developer Mode or an administrator's right: "a required privilege is not held", error 1314).
 */
function createSymlink(target: string, at: string, type?: SymlinkType): boolean {
  try {
    Deno.symlinkSync(target, at, type && { type });
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
