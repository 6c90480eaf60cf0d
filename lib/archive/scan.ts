/**
 * Walks the source folders and streams what it finds into a sink in batches: regular files,
 * folders and symlinks (never followed). Anything else (FIFOs, sockets, devices) and anything
 * unreadable is reported as a problem and skipped. Entries come depth first: a folder, its files,
 * then its subfolders one by one. Memory holds one folder's listing at a time plus the folders
 * still to visit, never the whole tree, and the device and inode of each file with several links.
 *
 * A regular file with more than one link is recorded once, at the first name the scan meets; each
 * later name of it becomes a `hardlink` entry (size 0) whose link target is that first name's
 * archive path, as `tar` stores them.
 */
import { archivePath } from "./archive_path.ts";
import type { PackRecord } from "./volume_tar.ts";
import { compileExcludes } from "./glob.ts";
import { pathKey, realPathOf } from "./path_case.ts";
import { storedMode } from "./file_mode.ts";
import { isVolumeFileOf } from "./layout.ts";
import { normalize, sep as SEP } from "node:path";
import { fileIdOf } from "../storage/same_inode.ts";

/** An entry as the scan finds it, before the catalog gives it an id. */
export type NewFile = Omit<PackRecord, "id"> & {
  /** Change time, what an incremental backup compares (null where the platform gives none). */
  ctimeMs?: number | null;
  /** `dev:ino`, what an incremental backup compares (null where the platform gives none). */
  fileId?: string | null;
};

/** A file or folder the backup could not take, with the reason. */
export interface ProblemRecord {
  path: string;
  kind: string;
  message: string;
}

/** Where the scan sends its results. */
export interface ScanSink {
  addFiles(files: NewFile[]): void;
  addProblem(problem: ProblemRecord): void;
}

/** What to scan. */
export interface ScanOptions {
  sourceDirs: string[];
  excludes: string[];
  /**
   * Absolute paths never taken (the state database, the logs, a temporary volume folder), in any
   * spelling: they are compared by real path, and without case on Windows and macOS.
   */
  skipPaths: string[];
  /**
   * This backup's own volume files, never taken: the files of `folder` (an OUTPUT_TAR folder,
   * which may hold the user's files too) named as volumes of `baseName`, `.partial` ones too.
   */
  ownVolumes?: { folder: string; baseName: string };
  /** Entries handed to the sink at once (default 8,192). */
  batchEntries?: number;
  /** Called after each folder with running totals. */
  onProgress?: (totals: ScanTotals) => void;
  signal?: AbortSignal;
}

/** Running totals of a scan. */
export interface ScanTotals {
  entries: number;
  bytes: number;
  problems: number;
}

/**
 * Entries handed to the sink at once: few large transactions (each commit waits for the disk,
 * about 3 ms here), and a few MiB of memory.
 */
const BATCH = 8192;

/** Scans every source folder in order; resolves with the totals. */
export async function scanSources(options: ScanOptions, sink: ScanSink): Promise<ScanTotals> {
  const excludes = compileExcludes(options.excludes);
  const skip = new Set(options.skipPaths.map((path) => pathKey(realPathOf(path))));
  const volumeFolder = options.ownVolumes && pathKey(realPathOf(options.ownVolumes.folder));
  const totals: ScanTotals = { entries: 0, bytes: 0, problems: 0 };
  const batchEntries = options.batchEntries ?? BATCH;
  let batch: NewFile[] = [];
  const flush = () => {
    if (batch.length > 0) sink.addFiles(batch);
    batch = [];
  };
  const add = (file: NewFile) => {
    batch.push(file);
    totals.entries++;
    totals.bytes += file.size;
    if (batch.length >= batchEntries) flush();
  };
  const problem = (path: string, kind: string, message: string) => {
    totals.problems++;
    sink.addProblem({ path, kind, message });
  };

  const firstLinks = new FirstLinks();
  let lastYield = Date.now();
  for (const root of options.sourceDirs) {
    // Folders are recorded when visited, so each one is followed by everything inside it: GNU
    // tar sets a folder's mtime once it sees an entry outside it, and depends on this order.
    const rootInfo = await Deno.lstat(root);
    const pending: Folder[] = [{
      file: toNewFile(root, archivePath(root), rootInfo, null),
      relative: "",
    }];
    while (pending.length > 0) {
      options.signal?.throwIfAborted();
      const folder = pending.pop()!;
      add(folder.file);
      const dir = folder.file.path;
      let names: string[];
      try {
        names = [];
        for (const entry of Deno.readDirSync(dir)) names.push(entry.name);
      } catch (error) {
        problem(dir, "unreadable", `cannot list folder: ${errorText(error)}`);
        continue;
      }
      names.sort();
      // A listed name is one plain component (never empty, `.`, `..` or holding a separator),
      // so each child's paths are its folder's plus the name: no per-entry normalizing.
      const children = new ChildPaths(dir, folder.file.archivePath, folder.relative);
      const holdsOwnVolumes = volumeFolder !== undefined && pathKey(dir) === volumeFolder;
      const subdirs: Folder[] = [];
      for (const name of names) {
        const path = children.path(name);
        if (skip.has(pathKey(path))) continue;
        if (holdsOwnVolumes && isVolumeFileOf(options.ownVolumes!.baseName, name)) continue;
        if (!excludes.empty && excludes.matches(path, children.relative(name))) continue;
        const info = lstatOrError(path);
        if (info instanceof Error) {
          if (path.includes("\uFFFD")) {
            // Deno lists a name that is not valid UTF-8 with U+FFFD in it, under which it
            // cannot be opened: say so rather than lose it without a word.
            problem(path, "unreadable", "its name is not valid UTF-8; it cannot be backed up");
          } else if (!(info instanceof Deno.errors.NotFound)) {
            problem(path, "unreadable", `cannot read: ${errorText(info)}`);
          }
          continue;
        }
        if (info.isDirectory) {
          subdirs.push({
            file: toNewFile(path, children.archivePath(name), info, null),
            relative: children.relative(name),
          });
        } else if (info.isFile) {
          const file = toNewFile(path, children.archivePath(name), info, null);
          const first = firstLinks.seen(info, file.archivePath);
          add(
            first === undefined ? file : { ...file, type: "hardlink", size: 0, linkTarget: first },
          );
        } else if (info.isSymlink) {
          try {
            add(toNewFile(path, children.archivePath(name), info, Deno.readLinkSync(path)));
          } catch (error) {
            problem(path, "unreadable", `cannot read symlink: ${errorText(error)}`);
          }
        } else {
          problem(path, "special", `skipped ${specialKind(info)}`);
        }
      }
      // Depth first, in name order: visit the first subfolder next.
      for (let i = subdirs.length - 1; i >= 0; i--) pending.push(subdirs[i]);
      options.onProgress?.(totals);
      // The file system calls above are synchronous (4 us against 40 us for an async lstat
      // here); every 100 ms, let timers and signal handlers run.
      if (Date.now() - lastYield > 100) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYield = Date.now();
      }
    }
  }
  flush();
  return totals;
}

/** A folder still to visit: its entry, and its path relative to its source folder. */
interface Folder {
  file: NewFile;
  relative: string;
}

/** The paths of a folder's children, built from the folder's own by appending a name. */
class ChildPaths {
  readonly #dir: string;
  readonly #archiveDir: string;
  readonly #relativeDir: string;

  constructor(dir: string, archiveDir: string, relativeDir: string) {
    // Normalized once per folder, as a join would for each child; a root (`/`, `C:\`)
    // already ends with its separator.
    const normal = normalize(dir);
    this.#dir = normal.endsWith(SEP) ? normal : normal + SEP;
    this.#archiveDir = archiveDir === "" ? "" : archiveDir + "/";
    this.#relativeDir = relativeDir === "" ? "" : relativeDir + SEP;
  }

  /** The absolute path of child `name`. */
  path(name: string): string {
    return this.#dir + name;
  }

  /** Its archive path (what `archivePath` of its absolute path gives). */
  archivePath(name: string): string {
    return this.#archiveDir + name;
  }

  /** Its path relative to the source folder. */
  relative(name: string): string {
    return this.#relativeDir + name;
  }
}

function toNewFile(
  path: string,
  archivePath: string,
  info: Deno.FileInfo,
  linkTarget: string | null,
): NewFile {
  const type = info.isDirectory ? "directory" : info.isSymlink ? "symlink" : "file";
  return {
    path,
    archivePath,
    type,
    size: type === "file" ? info.size : 0,
    mtimeMs: info.mtime?.getTime() ?? 0,
    mode: storedMode(info.mode, type),
    linkTarget,
    ctimeMs: info.ctime?.getTime() ?? null,
    fileId: fileIdOf(info),
  };
}

/** Archive paths of the files with several links seen so far, by device and inode. */
class FirstLinks {
  readonly #byInode = new Map<string, string>();

  /**
   * The archive path of the first name seen of the file `info` describes, or `undefined` when
   * this is the first (or the only) one; remembers `archivePath` then.
   */
  seen(info: Deno.FileInfo, archivePath: string): string | undefined {
    if (info.nlink === null || info.nlink < 2) return undefined;
    const key = fileIdOf(info);
    if (key === null) return undefined;
    const first = this.#byInode.get(key);
    if (first === undefined) this.#byInode.set(key, archivePath);
    return first;
  }
}

function lstatOrError(path: string): Deno.FileInfo | Error {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function specialKind(info: Deno.FileInfo): string {
  if (info.isFifo) return "FIFO";
  if (info.isSocket) return "socket";
  if (info.isBlockDevice) return "block device";
  if (info.isCharDevice) return "character device";
  return "special file";
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
