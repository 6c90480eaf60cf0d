/**
 * Maps an absolute file path to the path it gets inside a TAR volume, the way GNU tar names
 * members: the root is dropped and separators become '/', so `tar -x` recreates the tree under the
 * current folder on any OS.
 */

/** Thrown when a path given to archivePath is not absolute. */
export class ArchivePathError extends Error {
  override name = "ArchivePathError";
}

/**
 * The tar path for an absolute file path, as GNU tar stores it: leading '/' removed; a Windows
 * drive 'C:\' becomes 'C/'; separators become '/'. Throws on a relative path. `.` segments and
 * repeated separators are dropped and `..` segments resolved, so the result never climbs out.
 */
export function archivePath(
  absolutePath: string,
  os: typeof Deno.build.os = Deno.build.os,
): string {
  return os === "windows" ? windowsArchivePath(absolutePath) : posixArchivePath(absolutePath);
}

function posixArchivePath(path: string): string {
  if (!path.startsWith("/")) throw notAbsolute(path);
  return normalizeSegments(path.split("/"));
}

function windowsArchivePath(path: string): string {
  let rest = path.replaceAll("\\", "/");
  // Extended-length forms: //?/C:/x and //?/UNC/server/share/x (also //./ device paths).
  const extended = /^\/\/[?.]\//.exec(rest);
  if (extended) {
    rest = rest.slice(4);
    if (/^UNC\//i.test(rest)) return normalizeSegments(rest.slice(4).split("/"));
  }
  const drive = /^([A-Za-z]):(\/|$)/.exec(rest);
  if (drive) {
    return [drive[1], normalizeSegments(rest.slice(2).split("/"))].filter(Boolean).join("/");
  }
  if (extended) throw notAbsolute(path);
  if (rest.startsWith("/")) return normalizeSegments(rest.split("/")); // UNC or drive-rooted
  throw notAbsolute(path);
}

/** Joins the segments with '/', dropping empty and '.' segments and resolving '..'. */
function normalizeSegments(segments: string[]): string {
  const kept: string[] = [];
  for (const segment of segments) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") kept.pop();
    else kept.push(segment);
  }
  return kept.join("/");
}

function notAbsolute(path: string): ArchivePathError {
  return new ArchivePathError(`Not an absolute path: ${path}`);
}
