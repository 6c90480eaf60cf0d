/**
 * Test trees: builds a source folder with the awkward cases a backup must keep (unicode and
 * 250-character paths, symlinks, empty folders, odd modes, old mtimes, empty and large files), and
 * compares two trees entry by entry. Where symbolic links cannot be made (Wine, a Windows without
 * the right) the tree has none; on Windows, modes are what Windows keeps (read-only or not).
 */
import { join } from "node:path";
import { needsSymlinks, onWindows } from "./platform.ts";

/** True when `makeTree` makes its three symlinks here. */
export const treeHasSymlinks = needsSymlinks() === undefined;

/** Options for `makeTree`. */
export interface TreeOptions {
  /** Extra random-content files of these sizes, in bytes. */
  bigFiles?: number[];
  /** How many small text files to add (spread over a few folders). */
  smallFiles?: number;
}

/** Fills `root` with a varied tree; returns the number of entries made under it. */
export async function makeTree(root: string, options: TreeOptions = {}): Promise<number> {
  let entries = 0;
  const file = async (path: string, data: Uint8Array | string, mode = 0o644, mtime?: Date) => {
    const full = join(root, path);
    await Deno.mkdir(join(full, ".."), { recursive: true });
    await Deno.writeFile(
      full,
      typeof data === "string" ? new TextEncoder().encode(data) : data,
      { mode },
    );
    if (!onWindows) await Deno.chmod(full, mode); // Windows: read-only or not, from `mode`
    if (mtime) await Deno.utime(full, mtime, mtime);
    entries++;
  };
  await file("hello.txt", "hello, glacier\n");
  await file("empty.bin", new Uint8Array(0));
  await file("exactly512.bin", randomBytes(512));
  await file("docs/readme.md", "# docs\n".repeat(100), 0o600);
  await file("docs/script.sh", "#!/bin/sh\necho hi\n", 0o755);
  await file("old/ancient.txt", "from long ago\n", 0o644, new Date("1999-12-31T23:59:58Z"));
  await file("Ünïcødé/日本語のファイル.txt", "unicode content ✓\n");
  const longDir = Array.from({ length: 4 }, (_, i) => `${"d".repeat(50)}${i}`).join("/");
  const longName = "f".repeat(250 - longDir.length - 1);
  await file(`${longDir}/${longName}`, "long path\n");
  await Deno.mkdir(join(root, "empty-folder"));
  await Deno.mkdir(join(root, "nested/empty/deep"), { recursive: true });
  entries += 4;
  if (treeHasSymlinks) {
    await Deno.symlink("hello.txt", join(root, "link-to-hello"), { type: "file" });
    await Deno.symlink("/nonexistent/target", join(root, "dangling-link"), { type: "file" });
    await Deno.symlink("docs", join(root, "link-to-docs"), { type: "dir" });
    entries += 3;
  }
  for (let i = 0; i < (options.smallFiles ?? 0); i++) {
    await file(`many/${i % 10}/file-${i}.txt`, `small file ${i}\n`.repeat(1 + (i % 7)));
  }
  for (const [i, size] of (options.bigFiles ?? []).entries()) {
    await file(`big/random-${i}.bin`, randomBytes(size));
  }
  await Deno.utime(
    join(root, "docs"),
    new Date("2020-01-02T03:04:05Z"),
    new Date("2020-01-02T03:04:05Z"),
  );
  return entries;
}

/** Random bytes of any length (crypto.getRandomValues fills at most 64 KiB at a time). */
export function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

/** One entry of a tree listing. */
interface Entry {
  type: "file" | "directory" | "symlink";
  mode: number;
  mtime: number;
  size: number;
  target?: string;
}

/** Lists a tree: relative path -> entry (mtime in whole seconds). */
export async function listTree(root: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const walk = async (dir: string, rel: string) => {
    for await (const item of Deno.readDir(dir)) {
      const full = join(dir, item.name);
      const path = rel ? `${rel}/${item.name}` : item.name;
      const info = await Deno.lstat(full);
      const type = info.isSymlink ? "symlink" : info.isDirectory ? "directory" : "file";
      out.set(path, {
        type,
        mode: type === "symlink" ? 0 : info.mode! & 0o7777,
        mtime: type === "symlink" ? 0 : Math.floor(info.mtime!.getTime() / 1000),
        size: type === "file" ? info.size : 0,
        target: type === "symlink" ? await Deno.readLink(full) : undefined,
      });
      if (type === "directory") await walk(full, path);
    }
  };
  await walk(root, "");
  return out;
}

/**
 * Differences between two trees (empty when identical): entries missing or extra, and any
 * difference in type, mode, mtime, size, symlink target or file content.
 */
export async function diffTrees(expected: string, actual: string): Promise<string[]> {
  const a = await listTree(expected);
  const b = await listTree(actual);
  const problems: string[] = [];
  for (const [path, entry] of a) {
    const other = b.get(path);
    if (!other) {
      problems.push(`missing: ${path}`);
      continue;
    }
    for (const field of ["type", "mode", "mtime", "size", "target"] as const) {
      if (entry[field] !== other[field]) {
        problems.push(`${path}: ${field} ${entry[field]} != ${other[field]}`);
      }
    }
    if (entry.type === "file" && other.type === "file") {
      const [x, y] = await Promise.all([
        Deno.readFile(join(expected, path)),
        Deno.readFile(join(actual, path)),
      ]);
      if (!equalBytes(x, y)) problems.push(`${path}: content differs`);
    }
  }
  for (const path of b.keys()) if (!a.has(path)) problems.push(`extra: ${path}`);
  return problems;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Makes `root/hard/data` (random bytes of `size`) with two more names: `root/hard/link1` and
 * `root/other/link2`; returns the three paths, first name first.
 */
export async function makeHardlinks(root: string, size: number): Promise<string[]> {
  const paths = [
    join(root, "hard", "data"),
    join(root, "hard", "link1"),
    join(root, "other", "link2"),
  ];
  await Deno.mkdir(join(root, "hard"), { recursive: true });
  await Deno.mkdir(join(root, "other"), { recursive: true });
  await Deno.writeFile(paths[0], randomBytes(size));
  await Deno.link(paths[0], paths[1]);
  await Deno.link(paths[0], paths[2]);
  return paths;
}

/**
 * Copies the tree `src` to `to` (which must not exist) keeping what `cp -a` keeps and `diffTrees`
 * compares: modes, modification times, symlinks as links. Runs anywhere Deno does.
 */
export async function copyTree(src: string, to: string): Promise<void> {
  const info = await Deno.lstat(src);
  if (info.isSymlink) {
    const target = await Deno.readLink(src);
    const folder = await Deno.stat(src).then((s) => s.isDirectory, () => false);
    await Deno.symlink(target, to, { type: folder ? "dir" : "file" });
    return;
  }
  if (info.isDirectory) {
    await Deno.mkdir(to);
    for await (const entry of Deno.readDir(src)) {
      await copyTree(join(src, entry.name), join(to, entry.name));
    }
    if (!onWindows) await Deno.chmod(to, info.mode! & 0o7777);
  } else {
    await Deno.copyFile(src, to);
    if (!onWindows) await Deno.chmod(to, info.mode! & 0o7777);
  }
  await Deno.utime(to, info.atime ?? info.mtime!, info.mtime!);
}
