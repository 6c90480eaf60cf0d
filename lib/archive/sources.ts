/**
 * Collapses the source folders of a backup: a folder given twice, or a folder inside another
 * source, would be scanned twice and stored twice (and a restore would then find its own files
 * already there). The paths given must be real paths (symlinks resolved), so different spellings
 * of one folder compare equal.
 */
import { isAbsolute, relative, sep } from "node:path";

/** The sources to scan, and one note for each source left out. */
export interface CollapsedSources {
  dirs: string[];
  notes: string[];
}

/**
 * Keeps each real source folder once, in the order given, and drops any folder inside another
 * source (it is backed up as part of that one).
 */
export function collapseSources(realDirs: string[]): CollapsedSources {
  const dirs: string[] = [];
  const notes: string[] = [];
  for (const [index, dir] of realDirs.entries()) {
    if (realDirs.indexOf(dir) < index) {
      notes.push(`note: ${dir} is given more than once: backing it up once`);
      continue;
    }
    const outer = realDirs.find((other) => isInside(dir, other));
    if (outer !== undefined) {
      notes.push(`note: ${dir} is inside ${outer}: backing it up once`);
      continue;
    }
    dirs.push(dir);
  }
  return { dirs, notes };
}

/** True when `path` lies strictly below `folder`. */
function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel !== "" && !isAbsolute(rel) && rel !== ".." && !rel.startsWith(`..${sep}`);
}
