/**
 * One restore run, as a sequence of steps: plan from the catalog, survey each needed volume in
 * the bucket, thaw (show what thawing costs, request the thaws, recorded in the catalog), wait
 * for the thaws while fetching (download, check, decrypt and extract each volume as soon as it
 * is readable, a few at a time), finish. A rerun of the same restore (same destination and
 * patterns) continues: nothing is requested twice while a thaw is pending or done, and volumes
 * already extracted are not fetched again.
 */
import type { Catalog } from "../catalog/catalog.ts";
import {
  extractedVolumes,
  findRestoreJob,
  finishRestoreJob,
  openRestoreJob,
  type RestoreJob,
} from "../catalog/restore_state.ts";
import { mapLimit } from "../memory/concurrency.ts";
import { UsageError } from "../archive/errors.ts";
import { formatBytes } from "../archive/units.ts";
import { type Outcome, type Reporter, reportSummary } from "../archive/report.ts";
import { quotePath } from "../archive/quote_path.ts";
import { loadPrices } from "../pricing/price_file.ts";
import type { RestoreTier, Storage } from "../storage/storage.ts";
import { checkTier, describeEstimate, estimateThaw } from "./cost.ts";
import { fetchVolumes } from "./fetch.ts";
import { applyFolderAttributes } from "./folders.ts";
import { planRestore, type RestorePlan, type VolumePlan } from "./plan.ts";
import { runningAsRoot } from "./ownership.ts";
import { RestoreWriter, STAGING_DIR_NAME } from "./safe_writer.ts";
import type { Selection } from "./selection.ts";
import { REQUEST_CONCURRENCY, type Survey, surveyVolumes } from "./survey.ts";
import { LISTED_PROBLEMS, RestoreTally, skippedLinksWarning } from "./tally.ts";
import { requestThaw } from "./thaw.ts";
import type { ThawingVolume } from "./wait_thaw.ts";
import type { RestoreProgress } from "./progress.ts";

/** How the user asked for a restore to run (the command line's options, as they are). */
export interface RestoreChoices {
  tier: RestoreTier;
  /** Tiers to ask in turn when AWS has no capacity for `tier` (`--tier expedited,standard`). */
  fallbackTiers?: RestoreTier[];
  /** Days S3 keeps the thawed copies. */
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
  /** `--prices FILE` (else `GLACIER_PRICES_FILE`, else the built-in us-east-1 list prices). */
  pricesFile?: string;
}

/** Everything a restore run needs. */
export interface RestoreRun extends RestoreChoices {
  catalog: Catalog;
  /** The bucket, already wrapped in retries. */
  storage: Storage;
  /** True for a `file:` bucket: nothing there is ever archived. */
  folderBucket: boolean;
  /** The folder of a `file:` bucket: its volumes are read where they lie, not downloaded. */
  bucketFolder?: string;
  /** Destination folder, absolute. */
  destination: string;
  selection: Selection;
  /** age identities for the volumes (empty for an unencrypted backup). */
  identities: string[];
  /** Volumes downloaded and extracted at once. */
  workers: number;
  log: Reporter;
  signal: AbortSignal;
  /** Asks the user; `undefined` when there is no terminal to ask on. */
  confirm?: (question: string) => Promise<boolean>;
  /** Counters of the fetch step, for a display. */
  progress?: RestoreProgress;
}

/** A step that ended the run early, with how it ended. */
type Ended = { ended: Outcome };

/** Runs a restore; resolves to how it ended. */
export async function runRestore(run: RestoreRun): Promise<Outcome> {
  const tally = new RestoreTally(run.catalog, run.selection, run.log);
  const planned = await planWhileChecked(run, tally);
  if ("ended" in planned) return planned.ended;
  const survey = await surveyStep(run, planned.pending, tally);
  const thawed = await thaw(run, survey, tally);
  if ("ended" in thawed) return thawed.ended;
  if (!run.wait && thawed.thawing.length > 0) return leaveThawing(run, thawed.thawing, tally);
  const writer = await RestoreWriter.open(run.destination, {
    overwrite: run.overwrite,
    restoreOwners: run.sameOwner && runningAsRoot(),
  });
  const job = openRestoreJob(run.catalog, run.destination, run.selection.key);
  await waitAndFetch(run, { ...planned, survey, thawing: thawed.thawing, writer, job }, tally);
  return await finish(run, planned.plan, writer, job, tally);
}

/** What the plan step found: the wanted volumes, and those not yet extracted by an earlier run. */
interface Planned {
  plan: RestorePlan;
  /** The earlier run into the same destination with the same patterns, if any. */
  earlier: RestoreJob | undefined;
  pending: VolumePlan[];
}

/**
 * `plan`, while the catalog's damage check runs (see `OpenOptions.checkLater`): nothing is
 * thawed, downloaded or written before the check is over, and a damaged catalog is reported as
 * such, whatever its reading met first.
 */
async function planWhileChecked(run: RestoreRun, tally: RestoreTally): Promise<Planned | Ended> {
  let planned: Planned | Ended;
  try {
    planned = plan(run, tally);
  } catch (error) {
    await run.catalog.checked();
    throw error;
  }
  await run.catalog.checked();
  return planned;
}

/** Plan: which volumes hold the wanted entries, and which of them are still to be extracted. */
function plan(run: RestoreRun, tally: RestoreTally): Planned | Ended {
  const { catalog, log, selection } = run;
  const settings = catalog.settings();
  const plan = planRestore(catalog, selection);
  tally.problems = plan.unrestorable.count;
  for (const example of plan.unrestorable.examples) {
    log.warn(`cannot restore ${quotePath(example.path)}: ${example.reason}`);
  }
  if (plan.unrestorable.count > plan.unrestorable.examples.length) {
    log.warn(
      `... and ${plan.unrestorable.count - plan.unrestorable.examples.length} more that ` +
        "cannot be restored",
    );
  }
  if (plan.entries === 0) {
    if (plan.unrestorable.count > 0) return { ended: "done-with-warnings" };
    throw new UsageError(`nothing in backup ${settings.backupId} matches the given patterns`);
  }

  const earlier = findRestoreJob(catalog, run.destination, selection.key);
  // What an earlier run extracted counts only while it is there: a destination deleted or emptied
  // since is restored again, in full.
  const extracted = earlier && !isMissingOrEmpty(run.destination)
    ? extractedVolumes(catalog, earlier.id)
    : new Set<number>();
  const pending = plan.volumes.filter((v) => !extracted.has(v.volume.id));
  log.info(
    `restore of backup ${settings.backupId}: ${plan.entries} entries, ${formatBytes(plan.bytes)} ` +
      `in ${plan.volumes.length} of ${count(catalog.volumes().length, "volume")}, into ` +
      run.destination,
  );
  if (earlier?.finishedAt && pending.length === 0) {
    log.info(
      `already restored into ${run.destination} on ${earlier.finishedAt}: nothing to do (use ` +
        "another --to, or other patterns, to restore again)",
    );
    return { ended: tally.outcome() };
  }
  if (earlier && pending.length < plan.volumes.length) {
    log.info(
      `continuing an earlier run: ${count(plan.volumes.length - pending.length, "volume")} ` +
        "already extracted",
    );
  }
  return { plan, earlier, pending };
}

/** True when `folder` does not exist or holds nothing but a restore's staging folder. */
function isMissingOrEmpty(folder: string): boolean {
  try {
    for (const entry of Deno.readDirSync(folder)) {
      if (entry.name !== STAGING_DIR_NAME) return false;
    }
    return true;
  } catch (error) {
    // Anything else (not a folder, unreadable) is the writer's to report.
    return error instanceof Deno.errors.NotFound;
  }
}

/** Survey: where each pending volume stands in the bucket. */
async function surveyStep(
  run: RestoreRun,
  pending: VolumePlan[],
  tally: RestoreTally,
): Promise<Survey> {
  const survey = await surveyVolumes(run.storage, run.folderBucket, run.log, pending);
  for (const v of survey.absent) tally.absent(v);
  for (const v of survey.failed) {
    tally.failedVolumes++;
    tally.problems += v.entries;
  }
  run.log.info(
    `volumes: ${survey.ready.length} readable now, ${survey.thawing.length} thawing, ` +
      `${survey.frozen.length} to thaw`,
  );
  return survey;
}

/**
 * Thaw: shows what thawing the frozen volumes costs, asks (unless `--yes`), and requests the
 * thaws. Returns every volume that is thawing now; a dry run or a "no" ends the run here.
 */
async function thaw(
  run: RestoreRun,
  survey: Survey,
  tally: RestoreTally,
): Promise<{ thawing: ThawingVolume[] } | Ended> {
  const { log } = run;
  if (survey.frozen.length === 0) {
    return run.dryRun ? dryRunEnd(log, tally.outcome()) : { thawing: survey.thawing };
  }
  const prices = await loadPrices(run.pricesFile);
  for (const tier of [run.tier, ...(run.fallbackTiers ?? [])]) {
    checkTier(survey.frozen.map((t) => t.storageClass), tier);
  }
  const frozen = survey.frozen.map((t) => ({ storageClass: t.storageClass, size: t.size }));
  const estimate = estimateThaw(frozen, run.tier, run.days, prices);
  for (const line of describeEstimate(estimate, run.tier, run.days, prices)) log.info(line);
  if (run.dryRun) return dryRunEnd(log, tally.outcome());
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
      return { ended: "refused" };
    }
  }
  await mapLimit(survey.frozen, REQUEST_CONCURRENCY, async (t) => {
    const name = t.plan.volume.name;
    const tier = await requestThaw(
      run.storage,
      run.catalog,
      t.plan.volume,
      run.tier,
      run.days,
      run.fallbackTiers,
      (refused, next) =>
        log.warn(
          `AWS has no ${refused.toLowerCase()} capacity now for ${name}: requesting ${next}`,
        ),
    );
    log.toFile("info", `requested thaw of ${name} (${tier}, ${run.days} days)`);
  });
  log.info(`requested the thaw of ${count(frozen.length, "volume")} (tier ${run.tier})`);
  return { thawing: survey.thawing.concat(survey.frozen) };
}

/** With `--no-wait`: the thaws are requested; a rerun waits for them. */
function leaveThawing(run: RestoreRun, thawing: ThawingVolume[], tally: RestoreTally): Outcome {
  run.log.info(
    `${count(thawing.length, "volume")} thawing: run the same command again (without ` +
      "--no-wait) to wait for them and restore",
  );
  return tally.outcome();
}

/** Wait and fetch: every readable volume now, each thawing one once its thaw is done. */
async function waitAndFetch(
  run: RestoreRun,
  at: Planned & {
    survey: Survey;
    thawing: ThawingVolume[];
    writer: RestoreWriter;
    job: RestoreJob;
  },
  tally: RestoreTally,
): Promise<void> {
  const { catalog, storage, log } = run;
  const fetched = [...at.survey.ready, ...at.thawing.map((t) => t.plan)];
  run.progress?.fetching(fetched.length, fetched.reduce((n, v) => n + (v.volume.size ?? 0), 0));
  await fetchVolumes({
    ready: at.survey.ready,
    thawing: at.thawing,
    wait: { catalog, storage, folderBucket: run.folderBucket, tier: run.tier, days: run.days, log },
    volume: {
      catalog,
      storage,
      writer: at.writer,
      selection: run.selection,
      identities: run.identities,
      jobId: at.job.id,
      resumed: at.earlier !== undefined,
      log,
      progress: run.progress,
      bucketFolder: run.bucketFolder,
    },
    workers: run.workers,
    log,
    signal: run.signal,
  }, tally);
}

/**
 * Finish: folder attributes go on once every volume is through, even with entries left out
 * (existing files, missing volumes): a rerun could not do better. The job is finished only when
 * every volume went in cleanly, so that a rerun with --overwrite still fetches the others.
 */
async function finish(
  run: RestoreRun,
  plan: RestorePlan,
  writer: RestoreWriter,
  job: RestoreJob,
  tally: RestoreTally,
): Promise<Outcome> {
  const { catalog, log } = run;
  const done = extractedVolumes(catalog, job.id);
  const through = (v: VolumePlan) => done.has(v.volume.id) || tally.settled.has(v.volume.id);
  if (tally.failedVolumes === 0 && plan.volumes.every(through)) {
    await applyFolderAttributes(catalog, run.selection, writer);
    if (plan.volumes.every((v) => done.has(v.volume.id))) finishRestoreJob(catalog, job.id);
    const left = await writer.removeStaging();
    if (left.length > 0) {
      log.warn(
        `${count(left.length, "file")} in ${run.destination} (${quotePath(left[0].path)}` +
          `${left.length > 1 ? ", ..." : ""}) were left half-written by another restore into ` +
          `it that was stopped: run that restore again to finish them (they are named in ` +
          `${STAGING_DIR_NAME})`,
      );
    }
  }
  if (tally.listed > LISTED_PROBLEMS) {
    log.warn(
      `... and ${tally.listed - LISTED_PROBLEMS} more (all in ${log.logPath ?? "the log"})`,
    );
  }
  const linksWarning = skippedLinksWarning(tally.skippedLinks);
  if (linksWarning) log.warn(linksWarning);
  reportSummary(
    log,
    "info",
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
  return tally.outcome();
}

/** `3 volumes`, `1 volume`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function dryRunEnd(log: Reporter, outcome: Outcome): Ended {
  log.info("dry run: nothing was requested or restored");
  return { ended: outcome };
}
