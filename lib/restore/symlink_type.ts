/**
 * Windows makes a symbolic link either to a file or to a folder, and must be told which. The
 * catalog knows: the link's target, resolved from the folder the link was backed up in, is looked
 * up among the backed-up entries (so a folder not restored yet still counts); a target outside
 * the backup is taken as a file.
 */
import { posix, win32 } from "node:path";
import type { Catalog, FileRecord } from "../catalog/catalog.ts";

/** What `Deno.symlink` needs on Windows. */
export type SymlinkType = "file" | "dir";

/**
 * The type to create the symlink `record` with on `os`: undefined except on Windows; there `dir`
 * when its target is a folder of the backup, else `file`.
 */
export function symlinkType(
  catalog: Pick<Catalog, "entryTypeAt">,
  record: Pick<FileRecord, "path" | "linkTarget">,
  os: typeof Deno.build.os = Deno.build.os,
): SymlinkType | undefined {
  if (os !== "windows" || record.linkTarget === null) return undefined;
  // The catalog's paths are in the form of the OS the backup ran on.
  const path = record.path.startsWith("/") ? posix : win32;
  const target = path.resolve(path.dirname(record.path), record.linkTarget);
  return catalog.entryTypeAt(target) === "directory" ? "dir" : "file";
}
