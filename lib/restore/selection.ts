/**
 * Which files a restore wants, from `--include` and `--exclude` patterns on archive paths, in the
 * pattern language of lib/archive/patterns.ts. Patterns are those of `glacier estimate --include`,
 * so an estimate prices exactly what a restore thaws. No `--include` means everything; an exclude
 * wins over an include.
 */
import { compileIncludes } from "../archive/patterns.ts";
import type { PathOs } from "../archive/path_case.ts";

/** A compiled selection. */
export interface Selection {
  /** True when the entry at `archivePath` is wanted. */
  matches(archivePath: string): boolean;
  /** A stable text naming the selection (for recognizing the same restore run again). */
  readonly key: string;
  /** True when every entry is wanted. */
  readonly everything: boolean;
}

/** Compiles include and exclude patterns into a selection, with the case rules of `os`. */
export function compileSelection(
  include: string[],
  exclude: string[],
  os: PathOs = Deno.build.os,
): Selection {
  const included = compileIncludes(include, os);
  const excludes = exclude.filter((pattern) => pattern.replace(/[/\\]/g, "") !== "");
  const excluded = excludes.length === 0 ? () => false : compileIncludes(excludes, os);
  return {
    matches: (path) => included(path) && !excluded(path),
    key: JSON.stringify({ include, exclude }),
    everything: include.length === 0 && exclude.length === 0,
  };
}
