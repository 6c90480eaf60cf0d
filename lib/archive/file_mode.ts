/**
 * The permission bits a backup stores for an entry. On Linux and macOS they are the file's own.
 * Windows has no such bits: Deno makes up 0666 for every file and folder (0444 for a read-only
 * file), which `tar -x` would turn into folders nobody can enter and world-writable files. There
 * the usual defaults are stored instead: 0755 for folders, 0644 for files, 0444 for read-only
 * files, 0777 for symlinks.
 */

/** The kinds of entry a mode is stored for. */
export type ModeEntryType = "directory" | "file" | "symlink";

/** The mode stored when the OS gives none (and on Windows, whatever it gives). */
function defaultMode(type: ModeEntryType): number {
  return type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644;
}

/**
 * The mode (permission bits and setuid, setgid, sticky) to store for an entry of `type` whose
 * `lstat` reported `mode`, on the OS `os`.
 */
export function storedMode(
  mode: number | null,
  type: ModeEntryType,
  os: typeof Deno.build.os = Deno.build.os,
): number {
  if (os === "windows") {
    // The only thing Windows' made-up mode tells: a read-only file has no write bit.
    const readOnly = type === "file" && mode !== null && (mode & 0o200) === 0;
    return readOnly ? 0o444 : defaultMode(type);
  }
  return mode === null ? defaultMode(type) : mode & 0o7777;
}
