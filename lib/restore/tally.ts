/**
 * The counters of one restore run, and how it reports wanted entries that did not come back: the
 * first `LISTED_PROBLEMS` by name on the screen, the rest in the log only.
 */
import type { Catalog } from "../catalog/catalog.ts";
import type { Outcome, Reporter } from "../archive/report.ts";
import { quotePath } from "../archive/quote_path.ts";
import type { EntryProblem } from "./extract_volume.ts";
import { RESTORABLE_STATES, type VolumePlan } from "./plan.ts";
import type { Selection } from "./selection.ts";

/** How many problems are listed by name before the rest are only counted. */
export const LISTED_PROBLEMS = 50;
/** Catalog rows read at once. */
const PAGE = 1000;

/** Counters of a run. */
export class RestoreTally {
  written = 0;
  bytes = 0;
  identical = 0;
  /** Wanted entries not restored (unrestorable, left alone, blocked, absent). */
  problems = 0;
  /** Entry problems met while extracting (the first `LISTED_PROBLEMS` are shown). */
  listed = 0;
  failedVolumes = 0;
  /** Symlinks not restored because this user may not create any (listed in the log only). */
  skippedLinks = 0;
  /** Volumes done with in this run: extracted (cleanly or not) or missing from the bucket. */
  readonly settled = new Set<number>();

  constructor(
    private readonly catalog: Catalog,
    private readonly selection: Selection,
    private readonly log: Reporter,
  ) {}

  /** Done, or done with warnings when a wanted entry was not restored. */
  outcome(): Outcome {
    return this.problems > 0 ? "done-with-warnings" : "done";
  }

  /** Reports one wanted entry that was not restored. */
  problem(problem: EntryProblem): void {
    this.problems++;
    const line = `${quotePath(problem.path)}: ${problem.message}`;
    if (problem.kind === "nolink") {
      // One warning for them all at the end (see `skippedLinksWarning`).
      this.skippedLinks++;
      this.log.toFile("warn", line);
      return;
    }
    if (this.listed++ < LISTED_PROBLEMS) this.log.warn(line);
    else this.log.toFile("warn", line);
  }

  /** Reports every wanted entry of a volume that is missing from the bucket. */
  absent(v: VolumePlan): void {
    this.settled.add(v.volume.id);
    for (const path of wantedPaths(this.catalog, this.selection, v)) {
      this.problem({
        path,
        kind: "absent",
        message: `cannot be restored: volume ${v.volume.name} is missing from the bucket`,
      });
    }
  }
}

/**
 * The one warning for the symlinks a restore could not create (none: undefined): why, and how
 * to allow it.
 */
export function skippedLinksWarning(skippedLinks: number): string | undefined {
  if (skippedLinks === 0) return undefined;
  const links = skippedLinks === 1 ? "1 symlink was" : `${skippedLinks} symlinks were`;
  return `${links} not restored (listed in the log): Windows lets only an administrator, or ` +
    "anyone once Developer Mode is on (Settings > System > For developers), create symlinks; " +
    "turn it on or run the restore as administrator, then run it again";
}

/** The archive paths of the wanted, restorable entries of a volume, read a page at a time. */
function* wantedPaths(catalog: Catalog, selection: Selection, v: VolumePlan): Generator<string> {
  for (const row of catalog.eachFileOfVolume(v.volume.id, PAGE)) {
    if (row.archivePath === "") continue; // DIR itself (a backup of `/`)
    if (RESTORABLE_STATES.has(row.state) && selection.matches(row.archivePath)) {
      yield row.archivePath;
    }
  }
}
