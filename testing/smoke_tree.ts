/**
 * The smoke test's folder: made the same on every run and every OS (seeded bytes, fixed names and
 * times), and compared with its restored copy under the rules the OS can keep. Portable: only
 * Deno's file API and `node:path`, no shell and no Unix programs.
 */
import { join } from "node:path";
import { seededRandom } from "./seeded_random.ts";
import { readFull } from "../lib/storage/read_full.ts";

/** What `makeSmokeTree` made. */
export interface SmokeTree {
  files: number;
  folders: number;
  symlinks: number;
  bytes: number;
  /** Why no symlink was made (the OS or its settings refused one), when none was. */
  symlinkSkipped?: string;
}

const isWindows = Deno.build.os === "windows";
const MIB = 1 << 20;
/** A fixed modification time (whole seconds: TAR keeps whole seconds). */
const FILE_TIME = new Date("2021-05-06T07:08:09Z");
const FOLDER_TIME = new Date("2020-01-02T03:04:05Z");

/** Seeded bytes: random-looking (incompressible) when `text` is false, repeated text otherwise. */
function content(seed: number, size: number, text = false): Uint8Array {
  const bytes = new Uint8Array(size);
  if (text) {
    const line = new TextEncoder().encode(`line of compressible text, seed ${seed}\n`);
    for (let i = 0; i < size; i++) bytes[i] = line[i % line.length];
    return bytes;
  }
  const random = seededRandom(seed);
  for (let i = 0; i < size; i += 4) {
    const word = (random() * 4294967296) >>> 0;
    for (let j = 0; j < 4 && i + j < size; j++) bytes[i + j] = (word >>> (8 * j)) & 0xff;
  }
  return bytes;
}

/** The files: path (with `/`), size, kind of content, mode (POSIX only; 0o444 also on Windows). */
const FILES: { path: string; size: number; text?: boolean; mode?: number }[] = [
  { path: "empty.txt", size: 0 },
  { path: "one byte.bin", size: 1 },
  { path: "block-512.bin", size: 512 },
  { path: "small.txt", size: 1000, text: true },
  { path: "medium.bin", size: 100 * 1024 + 7 },
  { path: "big/random 3 MiB.bin", size: 3 * MIB + 17 },
  { path: "big/text 5 MiB.txt", size: 5 * MIB, text: true },
  { path: "nested/a/b/c/deep.txt", size: 300, text: true },
  { path: "with space/file with spaces.txt", size: 42, text: true },
  { path: "Ünïcødé/日本語のファイル.txt", size: 77, text: true },
  { path: "Ünïcødé/émoji 🎉 ñ.bin", size: 4096 },
  { path: "modes/read-only.txt", size: 10, text: true, mode: 0o444 },
  { path: "modes/script.sh", size: 20, text: true, mode: 0o755 },
  { path: "modes/private.txt", size: 30, text: true, mode: 0o600 },
];
const EMPTY_FOLDERS = ["empty folder", "nested/empty/deeper"];
const SYMLINKS: { path: string; target: string; type: "file" | "dir" }[] = [
  { path: "link to small", target: "small.txt", type: "file" },
  { path: "nested/link to c", target: "a/b/c", type: "dir" },
  { path: "dangling link", target: "no such file", type: "file" },
];

/** Fills the empty folder `root` with the smoke tree. */
export async function makeSmokeTree(root: string): Promise<SmokeTree> {
  const tree: SmokeTree = { files: 0, folders: 0, symlinks: 0, bytes: 0 };
  const folders = new Set<string>();
  const addFolder = async (path: string) => {
    const parts = path.split("/");
    for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join("/"));
    await Deno.mkdir(join(root, ...parts), { recursive: true });
  };
  for (const [index, file] of FILES.entries()) {
    const parts = file.path.split("/");
    if (parts.length > 1) await addFolder(parts.slice(0, -1).join("/"));
    const full = join(root, ...parts);
    await Deno.writeFile(full, content(index + 1, file.size, file.text));
    await Deno.utime(full, FILE_TIME, FILE_TIME);
    if (file.mode !== undefined && (!isWindows || file.mode === 0o444)) {
      await Deno.chmod(full, file.mode);
    }
    tree.files++;
    tree.bytes += file.size;
  }
  for (const folder of EMPTY_FOLDERS) await addFolder(folder);
  for (const link of SYMLINKS) {
    const full = join(root, ...link.path.split("/"));
    try {
      // A relative target with this OS's separator, as a user's own link has.
      const target = isWindows ? link.target.replaceAll("/", "\\") : link.target;
      await Deno.symlink(target, full, { type: link.type });
      if (!(await Deno.lstat(full)).isSymlink) throw new Error(`${full} is not a symlink`);
      tree.symlinks++;
    } catch (error) {
      if (!isWindows) throw error;
      // Windows makes links only with Developer Mode or an administrator's right; under Wine
      // the call succeeds and makes nothing (lstat: NotFound).
      tree.symlinkSkipped = error instanceof Error ? error.message : String(error);
      break;
    }
  }
  // Deepest first, so that making a child does not change its parent's time afterwards.
  const sorted = [...folders].sort((a, b) => b.split("/").length - a.split("/").length);
  for (const folder of sorted) {
    await Deno.utime(join(root, ...folder.split("/")), FOLDER_TIME, FOLDER_TIME);
  }
  tree.folders = folders.size;
  return tree;
}

/** One entry of a listing. */
interface Entry {
  type: "file" | "folder" | "symlink";
  /** What the OS keeps of the mode: POSIX permission bits, on Windows the read-only bit. */
  mode: number;
  /** Whole seconds; 0 for a symlink. */
  mtime: number;
  size: number;
  target?: string;
  /** For a symlink, what it leads to: a file, a folder, or nothing. */
  leadsTo?: "file" | "folder" | "nothing";
}

/** Lists a tree: relative path with `/` -> entry. */
async function listTree(root: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const walk = async (dir: string, rel: string) => {
    for await (const item of Deno.readDir(dir)) {
      const full = join(dir, item.name);
      const path = rel ? `${rel}/${item.name}` : item.name;
      const info = await Deno.lstat(full);
      const type = info.isSymlink ? "symlink" : info.isDirectory ? "folder" : "file";
      const mode = info.mode ?? 0;
      out.set(path, {
        type,
        mode: type === "symlink" ? 0 : isWindows ? mode & 0o200 : mode & 0o7777,
        mtime: type === "symlink" ? 0 : Math.floor((info.mtime?.getTime() ?? 0) / 1000),
        size: type === "file" ? info.size : 0,
        target: type === "symlink" ? await Deno.readLink(full) : undefined,
        leadsTo: type === "symlink" ? await leadsTo(full) : undefined,
      });
      if (type === "folder") await walk(full, path);
    }
  };
  await walk(root, "");
  return out;
}

/** What following the symlink `path` reaches. */
async function leadsTo(path: string): Promise<"file" | "folder" | "nothing"> {
  try {
    return (await Deno.stat(path)).isDirectory ? "folder" : "file";
  } catch {
    return "nothing";
  }
}

/** True when the two files hold the same bytes; reads both a block at a time. */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.open(a), Deno.open(b)]);
  try {
    const bufferX = new Uint8Array(256 * 1024);
    const bufferY = new Uint8Array(256 * 1024);
    while (true) {
      const n = await readFull(x, bufferX);
      const m = await readFull(y, bufferY);
      if (n !== m) return false;
      for (let i = 0; i < n; i++) if (bufferX[i] !== bufferY[i]) return false;
      if (n < bufferX.length) return true;
    }
  } finally {
    x.close();
    y.close();
  }
}

/** The result of `compareTrees`. */
export interface TreeComparison {
  /** Entries compared. */
  entries: number;
  /** One line per difference; empty when the trees are the same. */
  problems: string[];
}

/**
 * Compares the `restored` tree with the `original`: the same entries, types, sizes, bytes, link
 * targets and what they lead to, modification times and modes (POSIX bits; on Windows the
 * read-only bit).
 */
export async function compareTrees(original: string, restored: string): Promise<TreeComparison> {
  const a = await listTree(original);
  const b = await listTree(restored);
  const problems: string[] = [];
  for (const [path, entry] of a) {
    const other = b.get(path);
    if (!other) {
      problems.push(`missing: ${path}`);
      continue;
    }
    for (const field of ["type", "size", "target", "leadsTo", "mtime", "mode"] as const) {
      if (entry[field] !== other[field]) {
        const show = (value: unknown) =>
          field === "mode" && typeof value === "number" ? `0${value.toString(8)}` : String(value);
        problems.push(`${path}: ${field} ${show(entry[field])} became ${show(other[field])}`);
      }
    }
    if (entry.type === "file" && other.type === "file" && entry.size === other.size) {
      if (!await sameBytes(join(original, path), join(restored, path))) {
        problems.push(`${path}: content differs`);
      }
    }
  }
  for (const path of b.keys()) if (!a.has(path)) problems.push(`extra: ${path}`);
  return { entries: a.size, problems };
}

/** Gives every read-only file under `root` its write bit back (Windows refuses to delete one). */
export async function makeWritable(root: string): Promise<void> {
  for await (const item of Deno.readDir(root)) {
    const full = join(root, item.name);
    if (item.isDirectory) await makeWritable(full);
    else if (item.isFile) {
      const info = await Deno.lstat(full);
      if (((info.mode ?? 0o200) & 0o200) === 0) await Deno.chmod(full, 0o644);
    }
  }
}
