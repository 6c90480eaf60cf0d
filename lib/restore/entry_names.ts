/**
 * The one rule that keeps a relative entry path under the folder it is restored into: every
 * name between its `/`s is a plain name, neither empty nor `.` nor `..`. Entry paths of a volume
 * (safe_writer.ts) and paths named in a placing journal (placing_journal.ts) are held to it.
 */

const DOT = 0x2e;

/** Whether every `/`-separated name of `path` is neither empty, `.` nor `..` (one scan, no split). */
export function hasPlainNames(path: string): boolean {
  for (let start = 0; start <= path.length;) {
    let end = path.indexOf("/", start);
    if (end < 0) end = path.length;
    const length = end - start;
    if (
      length === 0 || (length <= 2 && path.charCodeAt(start) === DOT &&
        (length === 1 || path.charCodeAt(start + 1) === DOT))
    ) {
      return false;
    }
    start = end + 1;
  }
  return true;
}
