/**
 * Which volumes hold the files that `--include` patterns name, so that an estimate prices only
 * the volumes a restore of those files would thaw. Patterns match archive paths (the absolute
 * path without its leading `/`; an absolute pattern is turned into one):
 * - a plain path (`/home/me/photos`, `home/me/photos`) names that entry and everything below;
 * - a glob with `/` matches the whole archive path, with the syntax of `--exclude`
 *   (lib/archive/glob.ts: `*` and `?` within a name, `**` across folders, `[...]`);
 * - a pattern without `/` (`*.jpg`, `photos`) matches an entry's own name anywhere.
 * A matching folder takes everything below it. Names match whatever their Unicode normal form:
 * `café` typed in NFC (as most systems do) matches `café` stored in NFD (as macOS writes names),
 * and the other way round.
 */
import type { Catalog } from "../catalog/catalog.ts";
import { heldFiles } from "../catalog/listing.ts";
import { globToRegExp } from "../archive/glob.ts";

/** A compiled list of `--include` patterns. */
export type IncludeMatcher = (archivePath: string) => boolean;

/** Compiles `--include` patterns; an empty list matches everything. */
export function compileIncludes(patterns: string[]): IncludeMatcher {
  const tests = patterns.map(compileOne).filter((test) => test !== undefined);
  if (tests.length === 0) return () => true;
  return (path) => {
    const normal = path.normalize("NFC");
    return tests.some((test) => test(normal));
  };
}

/** Compiles one pattern into a test of an archive path in NFC. */
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

/** The files an include list selects, and the volumes holding them. */
export interface FileSelection {
  /** Matching files, folders and symlinks. */
  entries: number;
  /** Bytes of the matching files. */
  fileBytes: number;
  volumeIds: Set<number>;
}

/** Streams the catalog's files through `matcher` and collects the volumes of those that match. */
export function selectFiles(catalog: Catalog, matcher: IncludeMatcher): FileSelection {
  const selection: FileSelection = { entries: 0, fileBytes: 0, volumeIds: new Set() };
  for (const file of heldFiles(catalog)) {
    if (!matcher(file.archivePath)) continue;
    selection.entries++;
    selection.fileBytes += file.size;
    selection.volumeIds.add(file.volumeId);
  }
  return selection;
}
