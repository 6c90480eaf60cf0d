/**
 * The folder a `file:` bucket names, and the `file://` URL that names a folder, with the path rules
 * of one system (a parameter, so tests on one system cover the others).
 *
 * Everywhere: `file:///abs/folder` (a file URL: `%XX` escapes decoded), `file:/abs/folder`,
 * `file:relative/folder`. On Linux and macOS `file://relative/folder` is relative to the current
 * folder, as it always was. On Windows: `file:///C:/x`, `file://C:/x`, `file:C:\x` and a bare
 * `C:\x` name a drive folder; `file:///x` is `x` on the current drive; `file://server/share/x`,
 * `file:////server/share/x` and a bare `\\server\share\x` name a folder on a network share.
 */
import { posix, win32 } from "node:path";

/** The operating system whose path rules apply. */
export type UrlOs = typeof Deno.build.os;

/** A `file:` bucket that names no usable folder; the message says why. */
export class FileBucketError extends Error {
  override name = "FileBucketError";
}

/**
 * The absolute folder the `file:` bucket `bucket` names on `os`, relative forms taken against
 * `cwd`. Throws `FileBucketError` when it names none.
 */
export function folderOfFileUrl(
  bucket: string,
  os: UrlOs = Deno.build.os,
  cwd: string = Deno.cwd(),
): string {
  const rest = bucket.slice("file:".length);
  const windows = os === "windows";
  let path: string;
  if (rest.startsWith("//")) {
    const afterSlashes = !windows && !rest.startsWith("///") ? "" : decode(rest.slice(2), bucket);
    if (!windows) {
      // `file:///abs` is a file URL; `file://relative` has always been relative here.
      path = rest.startsWith("///") ? afterSlashes : rest.slice(2);
    } else if (afterSlashes.startsWith("/")) {
      // `file:///C:/x`, `file:///x` (current drive), `file:////server/share/x`.
      path = afterSlashes.replace(/^\/(?=[A-Za-z][:|](\/|$))/, "").replace(/^\/{2,}/, "//");
    } else if (/^[A-Za-z][:|](\/|\\|$)/.test(afterSlashes)) {
      path = afterSlashes; // `file://C:/x`
    } else if (/^localhost(\/|$)/i.test(afterSlashes)) {
      path = afterSlashes.slice("localhost".length) || "/";
    } else {
      path = `//${afterSlashes}`; // `file://server/share/x`
    }
  } else {
    path = windows ? rest.replace(/^\/(?=[A-Za-z]:(\/|\\|$))/, "") : rest;
  }
  if (path === "") throw new FileBucketError(`${JSON.stringify(bucket)} names no folder`);
  if (!windows) return posix.resolve(cwd, path);
  path = path.replace(/^([A-Za-z])\|/, "$1:");
  if (/^[/\\]{2}/.test(path) && !/^[/\\]{2}[^/\\]+[/\\]+[^/\\]+/.test(path)) {
    throw new FileBucketError(
      `${JSON.stringify(bucket)} names a server without a share (use file://server/share/folder)`,
    );
  }
  return win32.resolve(cwd, path);
}

/**
 * The `file:` bucket of a bare absolute Windows path (`C:\x`, `C:/x`, `\\server\share\x`) given
 * where a bucket is expected, on Windows; `undefined` for anything else.
 */
export function fileBucketOfBarePath(value: string, os: UrlOs = Deno.build.os): string | undefined {
  if (os !== "windows") return undefined;
  const trimmed = value.trim();
  if (!/^[A-Za-z]:[/\\]/.test(trimmed) && !/^\\\\[^\\]/.test(trimmed)) return undefined;
  return fileUrlOf(win32.resolve(trimmed), os);
}

/**
 * The `file://` URL naming the absolute folder `folder` on `os`, in the form `--bucket` takes
 * back: `file:///srv/x`, `file:///C:/x`, `file://server/share/x`. Only `%` is escaped (`%25`),
 * the one character the URL forms decode.
 */
export function fileUrlOf(folder: string, os: UrlOs = Deno.build.os): string {
  const escaped = folder.replaceAll("%", "%25");
  if (os !== "windows") return `file://${escaped}`;
  const slashed = escaped.replaceAll("\\", "/");
  if (slashed.startsWith("//")) return `file:${slashed}`;
  return `file://${slashed.startsWith("/") ? "" : "/"}${slashed}`;
}

function decode(text: string, bucket: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new FileBucketError(`invalid file URL ${JSON.stringify(bucket)}: a bad % escape`);
  }
}
