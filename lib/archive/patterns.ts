/**
 * The pattern language of `--include` (restore, estimate) and of restore's `--exclude`. Patterns
 * match archive paths (the absolute path without its leading `/`; an absolute pattern is turned
 * into one):
 * - a plain path (`/home/me/photos`, `home/me/photos`) names that entry and everything below;
 * - a glob with `/` (`home/*\/docs/**`, `**\/*.jpg`) matches the whole archive path, with the
 *   syntax of backup's `--exclude` (glob.ts: `*` and `?` within a name, `**` across folders,
 *   `[...]` a character class);
 * - a pattern without `/` (`*.jpg`, `photos`) matches an entry's own name anywhere.
 * A matching folder takes everything below it. Names match whatever their Unicode normal form:
 * `café` typed in NFC (as most systems do) matches `café` stored in NFD (as macOS writes names),
 * and the other way round. On Windows and macOS, whose file systems ignore case, patterns ignore
 * case too, drive letter included (`c:\data` matches `C/Data`; path_case.ts).
 */
import { globToRegExp } from "./glob.ts";
import { nameFolder, type PathOs } from "./path_case.ts";

/** A compiled list of `--include` patterns. */
export type IncludeMatcher = (archivePath: string) => boolean;

/**
 * Compiles `--include` patterns, with the case rules of `os` (where the command runs); an empty
 * list matches everything.
 */
export function compileIncludes(patterns: string[], os: PathOs = Deno.build.os): IncludeMatcher {
  const fold = nameFolder(os);
  const tests = patterns.map((raw) => compileOne(fold(raw))).filter((test) => test !== undefined);
  if (tests.length === 0) return () => true;
  return (path) => {
    const normal = fold(path.normalize("NFC"));
    return tests.some((test) => test(normal));
  };
}

/** Compiles one pattern into a test of an archive path in NFC (both folded alike). */
function compileOne(raw: string): IncludeMatcher | undefined {
  // The archive path of an absolute pattern: no leading `/`, and a drive `C:/` becomes `C/`.
  const pattern = raw.normalize("NFC").replaceAll("\\", "/").replace(/\/+$/, "")
    .replace(/^([A-Za-z]):\//, "$1/").replace(/^(\.?\/)+/, "");
  if (pattern === "") return undefined;
  if (!/[*?[]/.test(pattern)) {
    if (!pattern.includes("/")) return (path) => path.split("/").includes(pattern);
    return (path) => path === pattern || path.startsWith(`${pattern}/`);
  }
  const regex = globToRegExp(pattern);
  if (!pattern.includes("/")) return (path) => path.split("/").some((name) => regex.test(name));
  return (path) => {
    if (regex.test(path)) return true;
    for (let slash = path.indexOf("/"); slash >= 0; slash = path.indexOf("/", slash + 1)) {
      if (regex.test(path.slice(0, slash))) return true;
    }
    return false;
  };
}
