/**
 * One restore run: plan from the catalog, look at each needed volume in the bucket, show what
 * thawing costs, request the thaws (recorded in the catalog), wait for them, then download, check,
 * decrypt and extract each volume as soon as it is readable, a few at a time. A rerun of the same
 * restore (same destination and patterns) continues: nothing is requested twice while a thaw is
 * pending or done, and volumes already extracted are not fetched again.
 */
import type { Catalog } from "../catalog/catalog.ts";
import {
  extractedVolumes,
  findRestoreJob,
  finishRestoreJob,
  openRestoreJob,
} from "../catalog/restore_state.ts";
import { WorkQueue } from "../backup/work_queue.ts";
import { UsageError } from "../archive/errors.ts";
import { formatBytes } from "../archive/units.ts";
import type { Outcome, Reporter } from "../archive/report.ts";
import { loadPrices } from "../pricing/price_file.ts";
import type { RestoreTier, Storage } from "../storage/storage.ts";
import { checkTier, describeEstimate, estimateThaw } from "./cost.ts";
import { applyFolderAttributes } from "./folders.ts";
import { planRestore, RESTORABLE_STATES, type VolumePlan } from "./plan.ts";
import type { EntryProblem } from "./extract_volume.ts";
import { isVolumeFailure, restoreVolume, type VolumeRestoreContext } from "./restore_volume.ts";
import { runningAsRoot } from "./ownership.ts";
import { RestoreWriter } from "./safe_writer.ts";
import type { Selection } from "./selection.ts";
import { mapLimit, requestThaw, volumeStatus } from "./thaw.ts";
import { type ThawingVolume, waitForThaws } from "./wait_thaw.ts";
import { quotePath } from "../archive/quote_path.ts";

/** How many problems are listed by name before the rest are only counted. */
const LISTED_PROBLEMS = 50;
/** HeadObject / RestoreObject requests sent at once. */
const REQUEST_CONCURRENCY = 8;
/** Catalog rows read at once. */
const PAGE = 1000;

/** Everything a restore run needs. */
export interface RestoreRun {
  catalog: Catalog;
  /** The bucket, already wrapped in retries. */
  storage: Storage;
  /** True for a `file:` bucket: nothing there is ever archived. */
  folderBucket: boolean;
  /** Destination folder, absolute. */
  destination: string;
  selection: Selection;
  tier: RestoreTier;
  days: number;
  /** False with `--no-wait`: request thaws and stop. */
  wait: boolean;
  /** `--yes`: no confirmation before paid thaw requests. */
  yes: boolean;
  dryRun: boolean;
  overwrite: boolean;
  /**
   * Give entries the owner stored in the volume when running as root (false with
   * `--no-same-owner`). Entries whose owner is not restored lose setuid, setgid and sticky.
   */
  sameOwner: boolean;
  /** age identities for the volumes (empty for an unencrypted backup). */
  identities: string[];
  /** Volumes downloaded and extracted at once. */
  workers: number;
  log: Reporter;
  signal: AbortSignal;
  /** `--prices FILE` (else `GLACIER_PRICES_FILE`, else the built-in us-east-1 list prices). */
  pricesFile?: string;
  /** Asks the user; `undefined` when there is no terminal to ask on. */
  confirm?: (question: string) => Promise<boolean>;
}

/** Counters of a run. */
interface Tally {
  written: number;
  bytes: number;
  identical: number;
  /** Wanted entries not restored (unrestorable, left alone, blocked, absent). */
  problems: number;
  /** Entry problems met while extracting (the first `LISTED_PROBLEMS` are shown). */
  listed: number;
  failedVolumes: number;
}

/** Runs a restore; resolves to how it ended. */
export async function runRestore(run: RestoreRun): Promise<Outcome> {
  const { catalog, log, selection } = run;
  const settings = catalog.settings();
  const plan = planRestore(catalog, selection);
  const tally: Tally = {
    written: 0,
    bytes: 0,
    identical: 0,
    problems: plan.unrestorable.count,
    listed: 0,
    failedVolumes: 0,
  };
  for (const example of plan.unrestorable.examples) {
    log.warn(`cannot restore ${quotePath(example.path)}: ${example.reason}`);
  }
  if (plan.unrestorable.count > plan.unrestorable.examples.length) {
    log.warn(
      `... and ${plan.unrestorable.count - plan.unrestorable.examples.length} more that ` +
        "cannot be restored",
    );
  }
  const outcome = () => tally.problems > 0 ? "done-with-warnings" : "done";
  const reportProblem = (problem: EntryProblem) => {
    tally.problems++;
    const line = `${quotePath(problem.path)}: ${problem.message}`;
    if (tally.listed++ < LISTED_PROBLEMS) log.warn(line);
    else log.toFile("warn", line);
  };
  /** Volumes done with in this run: extracted (cleanly or not) or missing from the bucket. */
  const settled = new Set<number>();
  const reportAbsent = (v: VolumePlan) => {
    settled.add(v.volume.id);
    for (const path of wantedPaths(catalog, selection, v)) {
      reportProblem({
        path,
        kind: "absent",
        message: `cannot be restored: volume ${v.volume.name} is missing from the bucket`,
      });
    }
  };
  if (plan.entries === 0) {
    if (plan.unrestorable.count > 0) return "done-with-warnings";
    throw new UsageError(`nothing in backup ${settings.backupId} matches the given patterns`);
  }

  const job = findRestoreJob(catalog, run.destination, selection.key);
  const extracted = job ? extractedVolumes(catalog, job.id) : new Set<number>();
  const pending = plan.volumes.filter((v) => !extracted.has(v.volume.id));
  log.info(
    `restore of backup ${settings.backupId}: ${plan.entries} entries, ${formatBytes(plan.bytes)} ` +
      `in ${plan.volumes.length} of ${count(catalog.volumes().length, "volume")}, into ` +
      run.destination,
  );
  if (job?.finishedAt && pending.length === 0) {
    log.info(
      `already restored into ${run.destination} on ${job.finishedAt}: nothing to do (use ` +
        "another --to, or other patterns, to restore again)",
    );
    return outcome();
  }
  if (job && pending.length < plan.volumes.length) {
    log.info(
      `continuing an earlier run: ${count(plan.volumes.length - pending.length, "volume")} ` +
        "already extracted",
    );
  }

  const survey = await surveyVolumes(run, pending);
  for (const v of survey.absent) reportAbsent(v);
  for (const v of survey.failed) {
    tally.failedVolumes++;
    tally.problems += v.entries;
  }
  log.info(
    `volumes: ${survey.ready.length} readable now, ${survey.thawing.length} thawing, ` +
      `${survey.frozen.length} to thaw`,
  );
  let thawing = survey.thawing;
  if (survey.frozen.length > 0) {
    const prices = await loadPrices(run.pricesFile);
    checkTier(survey.frozen.map((t) => t.storageClass), run.tier, prices);
    const frozen = survey.frozen.map((t) => ({ storageClass: t.storageClass, size: t.size }));
    const estimate = estimateThaw(frozen, run.tier, run.days, prices);
    for (const line of describeEstimate(estimate, run.tier, run.days, prices)) log.info(line);
    if (run.dryRun) return dryRunEnd(log, outcome());
    if (estimate.total > 0 && !run.yes) {
      const what = `thawing ${count(frozen.length, "volume")}`;
      if (!run.confirm) {
        throw new UsageError(
          `${what} has a fee and there is no terminal to confirm it on: run again with --yes ` +
            "(or --dry-run to see the plan only)",
        );
      }
      if (!(await run.confirm(`${what}: proceed?`))) {
        log.info("nothing requested");
        return "refused";
      }
    }
    await mapLimit(survey.frozen, REQUEST_CONCURRENCY, async (t) => {
      await requestThaw(run.storage, catalog, t.plan.volume, run.tier, run.days);
      log.toFile("info", `requested thaw of ${t.plan.volume.name} (${run.tier}, ${run.days} days)`);
    });
    log.info(`requested the thaw of ${count(frozen.length, "volume")} (tier ${run.tier})`);
    thawing = thawing.concat(survey.frozen);
  } else if (run.dryRun) {
    return dryRunEnd(log, outcome());
  }

  if (!run.wait && thawing.length > 0) {
    log.info(
      `${count(thawing.length, "volume")} thawing: run the same command again (without ` +
        "--no-wait) to wait for them and restore",
    );
    return outcome();
  }

  const writer = await RestoreWriter.open(run.destination, {
    overwrite: run.overwrite,
    restoreOwners: run.sameOwner && runningAsRoot(),
  });
  const activeJob = openRestoreJob(catalog, run.destination, selection.key);
  const queue = new WorkQueue<VolumePlan>();
  for (const v of survey.ready) queue.push(v);
  const failure = new AbortController();
  const signal = AbortSignal.any([run.signal, failure.signal]);
  const waiter = waitForThaws(thawing, {
    catalog,
    storage: run.storage,
    folderBucket: run.folderBucket,
    tier: run.tier,
    days: run.days,
    log,
    signal,
    onReady: (v) => queue.push(v),
    onGone: reportAbsent,
  }).finally(() => queue.close());
  const context: VolumeRestoreContext = {
    catalog,
    storage: run.storage,
    writer,
    selection,
    identities: run.identities,
    jobId: activeJob.id,
    resumed: job !== undefined,
    log,
    signal,
    onProblem: reportProblem,
  };
  const workers = Array.from({ length: Math.max(1, run.workers) }, async () => {
    for (let v = await queue.next(); v; v = await queue.next()) {
      try {
        const report = await restoreVolume(context, v);
        tally.written += report.written;
        tally.bytes += report.bytes;
        tally.identical += report.identical;
        settled.add(v.volume.id);
      } catch (error) {
        if (!isVolumeFailure(error)) {
          failure.abort(error);
          throw error;
        }
        log.error(`${quotePath(v.volume.name)}: ${(error as Error).message}`);
        tally.failedVolumes++;
      }
    }
  });
  const results = await Promise.allSettled([waiter, ...workers]);
  const rejected = results.find((r) => r.status === "rejected");
  if (rejected) {
    throw run.signal.aborted ? run.signal.reason : failure.signal.reason ?? rejected.reason;
  }

  // Folder attributes go on once every volume is through, even with entries left out (existing
  // files, missing volumes): a rerun could not do better. The job is finished only when every
  // volume went in cleanly, so that a rerun with --overwrite still fetches the others.
  const done = extractedVolumes(catalog, activeJob.id);
  const through = (v: VolumePlan) => done.has(v.volume.id) || settled.has(v.volume.id);
  if (tally.failedVolumes === 0 && plan.volumes.every(through)) {
    await applyFolderAttributes(catalog, selection, writer);
    if (plan.volumes.every((v) => done.has(v.volume.id))) finishRestoreJob(catalog, activeJob.id);
    await writer.removeStaging();
  }
  if (tally.listed > LISTED_PROBLEMS) {
    log.warn(
      `... and ${tally.listed - LISTED_PROBLEMS} more (all in ${log.logPath ?? "the log"})`,
    );
  }
  log.info(
    `restored ${tally.written} entries (${formatBytes(tally.bytes)}) into ${run.destination}` +
      (tally.identical > 0 ? `; ${tally.identical} were already in place` : ""),
  );
  if (tally.failedVolumes > 0) {
    log.error(
      `${count(tally.failedVolumes, "volume")} could not be restored; fix the problem above and ` +
        "run the same command again",
    );
    return "failed";
  }
  return outcome();
}

/** Where the volumes of a run stand in the bucket. */
interface Survey {
  ready: VolumePlan[];
  thawing: ThawingVolume[];
  frozen: (ThawingVolume & { size: number })[];
  /** Missing from the bucket: their wanted entries cannot be restored. */
  absent: VolumePlan[];
  /** Not the size the catalog says. */
  failed: VolumePlan[];
}

/** Looks each volume up in the bucket (a few at a time). */
async function surveyVolumes(run: RestoreRun, volumes: VolumePlan[]): Promise<Survey> {
  const statuses = await mapLimit(
    volumes,
    REQUEST_CONCURRENCY,
    (v) => volumeStatus(run.storage, v.volume, run.folderBucket),
  );
  const survey: Survey = { ready: [], thawing: [], frozen: [], absent: [], failed: [] };
  for (const [i, status] of statuses.entries()) {
    const v = volumes[i];
    if (status.readiness === "absent") {
      run.log.error(
        `volume ${
          quotePath(v.volume.name)
        } is missing from ${run.storage.description}: its ${v.entries} ` +
          "wanted entries cannot be restored",
      );
      survey.absent.push(v);
    } else if (status.size !== v.volume.size) {
      run.log.error(
        `volume ${
          quotePath(v.volume.name)
        } is ${status.size} bytes in the bucket but ${v.volume.size} in ` +
          "the catalog: skipping it",
      );
      survey.failed.push(v);
    } else if (status.readiness === "ready") {
      survey.ready.push(v);
    } else if (status.readiness === "thawing") {
      survey.thawing.push({ plan: v, storageClass: status.storageClass });
    } else {
      survey.frozen.push({ plan: v, storageClass: status.storageClass, size: status.size });
    }
  }
  return survey;
}

/** The archive paths of the wanted, restorable entries of a volume, read a page at a time. */
function* wantedPaths(catalog: Catalog, selection: Selection, v: VolumePlan): Generator<string> {
  for (let afterId = 0;;) {
    const page = catalog.filesOfVolume(v.volume.id, afterId, PAGE);
    if (page.length === 0) return;
    for (const row of page) {
      if (row.archivePath === "") continue; // DIR itself (a backup of `/`)
      if (RESTORABLE_STATES.has(row.state) && selection.matches(row.archivePath)) {
        yield row.archivePath;
      }
    }
    afterId = page[page.length - 1].id;
  }
}

/** `3 volumes`, `1 volume`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function dryRunEnd(log: Reporter, outcome: Outcome): Outcome {
  log.info("dry run: nothing was requested or restored");
  return outcome;
}
