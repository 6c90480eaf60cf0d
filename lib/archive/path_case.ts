/**
 * How one system compares names and paths. Windows (NTFS) and macOS (APFS and HFS+ as formatted
 * by default) find a file whatever the case of its name, so `C:\Data` and `c:\data` are one folder
 * there, and macOS also finds a name whatever its Unicode normal form (`café` in NFC or NFD).
 * Linux compares names byte for byte. Each function takes the system as a parameter, so tests on
 * one system cover the others.
 */
import { basename, dirname, join } from "node:path";

/** The operating system whose rules apply (`Deno.build.os` by default). */
export type PathOs = typeof Deno.build.os;

/** True when the usual file systems of `os` ignore the case of names (Windows and macOS). */
export function namesIgnoreCase(os: PathOs = Deno.build.os): boolean {
  return os === "windows" || os === "darwin";
}

/**
 * A function giving the form of a name or path under which two spellings `os` takes for the same
 * file are equal: lower case on Windows, NFC and lower case on macOS, unchanged elsewhere.
 */
export function nameFolder(os: PathOs = Deno.build.os): (text: string) => string {
  if (os === "windows") return (text) => text.toLowerCase();
  if (os === "darwin") return (text) => text.normalize("NFC").toLowerCase();
  return (text) => text;
}

/**
 * The key under which two spellings of one absolute path on `os` compare equal: on Windows `/`
 * and `\` are one separator and case is ignored; on macOS case and normal form are ignored.
 */
export function pathKey(path: string, os: PathOs = Deno.build.os): string {
  const fold = nameFolder(os);
  return fold(os === "windows" ? path.replaceAll("/", "\\") : path);
}

/**
 * The real path of `path` (links resolved, and the case the file system keeps on Windows): that
 * of its nearest existing parent folder, with the rest appended, when it does not exist yet (a
 * log or a `-wal` file made later).
 */
export function realPathOf(path: string): string {
  let rest = "";
  let current = path;
  for (;;) {
    try {
      const real = Deno.realPathSync(current);
      return rest === "" ? real : join(real, rest);
    } catch {
      const parent = dirname(current);
      if (parent === current) return path;
      rest = rest === "" ? basename(current) : join(basename(current), rest);
      current = parent;
    }
  }
}
