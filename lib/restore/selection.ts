/**
 * Which files a restore wants, from `--include` and `--exclude` patterns on archive paths (the
 * absolute path without its leading `/`, as in the volumes; an absolute pattern is turned into
 * one). Patterns are those of `glacier estimate --include`, so an estimate prices exactly what a
 * restore thaws:
 * - a plain path (`/home/me/docs`, `home/me/docs`) names that entry and everything below it;
 * - a glob with `/` (`home/*\/docs/**`, `**\/*.jpg`) matches the whole archive path: `*` and `?`
 *   within a name, `**` across folders, `[...]` a character class;
 * - a pattern without `/` (`*.jpg`, `node_modules`) matches an entry's own name anywhere.
 * A matching folder takes everything below it. No `--include` means everything; an exclude wins
 * over an include.
 */
import { compileIncludes } from "../pricing/file_selection.ts";

/** A compiled selection. */
export interface Selection {
  /** True when the entry at `archivePath` is wanted. */
  matches(archivePath: string): boolean;
  /** A stable text naming the selection (for recognizing the same restore run again). */
  readonly key: string;
  /** True when every entry is wanted. */
  readonly everything: boolean;
}

/** Compiles include and exclude patterns into a selection. */
export function compileSelection(include: string[], exclude: string[]): Selection {
  const included = compileIncludes(include);
  const excludes = exclude.filter((pattern) => pattern.replace(/[/\\]/g, "") !== "");
  const excluded = excludes.length === 0 ? () => false : compileIncludes(excludes);
  return {
    matches: (path) => included(path) && !excluded(path),
    key: JSON.stringify({ include, exclude }),
    everything: include.length === 0 && exclude.length === 0,
  };
}
