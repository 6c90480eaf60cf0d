/**
 * `glacier delete`: deletes chosen volumes from the bucket and marks them (and their files)
 * deleted in the catalog. It first says what will go and what deleting before the storage class's
 * minimum duration will cost, and asks; nothing is deleted unless every name is known.
 */
import type { Catalog, VolumeRecord } from "../catalog/catalog.ts";
import { markVolumeDeleted, uploadedAt } from "../catalog/volume_state.ts";
import { UsageError } from "../archive/errors.ts";
import { formatBytes } from "../archive/units.ts";
import type { Outcome, Reporter } from "../archive/report.ts";
import { formatDollars } from "../pricing/money.ts";
import type { PriceTable } from "../pricing/prices.ts";
import type { Storage } from "../storage/storage.ts";
import { refreshCatalogCopy } from "./backup_storage.ts";
import { type EarlyDeletion, earlyDeletion } from "./early_deletion.ts";
import { plural } from "./show_format.ts";
import { findDependents } from "./dependents.ts";
import { dirname, resolve } from "node:path";
import { quotePath } from "../archive/quote_path.ts";

/** How `deleteVolumes` runs. */
export interface DeleteRun {
  catalog: Catalog;
  storage: Storage;
  /** The volume names (or object keys) to delete, as given. */
  names: string[];
  /** Delete without asking. */
  assumeYes: boolean;
  /** False for a folder bucket, where S3's minimum storage durations do not apply. */
  chargesApply: boolean;
  prices: PriceTable;
  log: Reporter;
  /** Asks the user (yes: true); absent when there is no terminal to ask on. */
  confirm?: (question: string) => Promise<boolean>;
  /** The folder of the other backups' state databases (default: the catalog's own folder). */
  stateDir?: string;
  /** Delete volumes that other backups still need. */
  force?: boolean;
}

/** One volume to delete, with what the store says about it. */
export interface Target {
  volume: VolumeRecord;
  /** False when the object is already gone from the bucket. */
  present: boolean;
  /** The class the store reports (the catalog's when the object is gone). */
  storageClass: string;
  early?: EarlyDeletion;
  /** Object Lock retention still running: the object cannot be deleted before `until`. */
  locked?: { until: Date; mode: string };
}

/**
 * Picks the volumes `names` designate; a `UsageError` naming every unknown name (or a volume
 * that is not uploaded yet), so that nothing is deleted after a typo.
 */
export function selectVolumes(volumes: VolumeRecord[], names: string[]): VolumeRecord[] {
  if (names.length === 0) throw new UsageError("--files names no volume to delete");
  const chosen = new Map<number, VolumeRecord>();
  const unknown: string[] = [];
  for (const name of names) {
    const volume = volumes.find((v) => v.name === name || v.objectKey === name);
    if (volume) chosen.set(volume.id, volume);
    else unknown.push(name);
  }
  if (unknown.length > 0) {
    throw new UsageError(
      `not a volume of this backup: ${unknown.join(", ")} (glacier show lists them); ` +
        "nothing was deleted",
    );
  }
  const unfinished = [...chosen.values()].filter((v) =>
    v.state === "planned" || v.state === "built"
  );
  if (unfinished.length > 0) {
    throw new UsageError(
      `not uploaded yet: ${unfinished.map((v) => v.name).join(", ")} (resume the backup first); ` +
        "nothing was deleted",
    );
  }
  return [...chosen.values()].sort((a, b) => a.id - b.id);
}

/**
 * Runs the deletion; done also when the user declines. Storage failures are thrown;
 * volumes deleted before one are already marked in the catalog.
 */
export async function deleteVolumes(run: DeleteRun): Promise<Outcome> {
  const { catalog, storage, log } = run;
  // A volume an earlier backup of an incremental's chain holds is that backup's to delete.
  const selected = selectVolumes(catalog.ownVolumes(), run.names);
  for (const v of selected.filter((v) => v.state === "deleted")) {
    log.info(`${quotePath(v.name)} is already deleted`);
  }
  const volumes = selected.filter((v) => v.state !== "deleted");
  if (volumes.length === 0) return "done";

  await storage.checkAccess();
  await checkDependents(run, volumes);
  const inspected: Target[] = [];
  for (const volume of volumes) {
    inspected.push(await inspectTarget(volume, run, () => uploadedAt(catalog, volume.id)));
  }
  // A locked object is never tried: S3 refuses it, and that is the point of the lock.
  for (const target of inspected.filter((t) => t.locked)) log.warn(describeLocked(target));
  const targets = inspected.filter((t) => !t.locked);
  if (targets.length === 0) {
    log.info("nothing was deleted: every chosen volume is still locked");
    return "refused";
  }
  for (const target of targets) log.info(describeTarget(target));
  const bytes = targets.reduce((n, t) => n + (t.volume.size ?? 0), 0);
  const charge = targets.reduce((n, t) => n + (t.early?.charge ?? 0), 0);
  if (charge > 0) {
    log.warn(
      `deleting now costs an early-deletion charge of about ${formatDollars(charge)} ` +
        `(${run.prices.source})`,
    );
  }
  const question = `delete ${plural(targets.length, "volume")} (${formatBytes(bytes)}) from ` +
    `${storage.description}? This cannot be undone.`;
  if (!run.assumeYes) {
    if (!run.confirm) {
      throw new UsageError(
        "refusing to go on without confirmation: standard input is not a terminal (use --yes)",
      );
    }
    if (!await run.confirm(question)) {
      log.info("nothing was deleted");
      return "done";
    }
  }

  try {
    for (const target of targets) {
      await storage.deleteObject(target.volume.objectKey);
      const files = markVolumeDeleted(catalog, target.volume.id);
      log.info(
        `deleted ${quotePath(target.volume.name)}${
          target.present ? "" : " (already gone from the bucket)"
        }` +
          `; ${plural(files, "entry", "entries")} marked deleted`,
      );
    }
  } finally {
    await refreshCatalogCopy(catalog, storage, log);
  }
  return targets.length < inspected.length ? "done-with-warnings" : "done";
}

/**
 * Refuses (a `UsageError`, unless `force`) volumes that other backups still need, saying which
 * backups would lose which files; with `force`, says it as a warning.
 */
async function checkDependents(run: DeleteRun, volumes: VolumeRecord[]): Promise<void> {
  const { catalog, log } = run;
  const stateDir = run.stateDir ?? dirname(resolve(catalog.path));
  const keys = volumes.map((v) => v.objectKey);
  const { dependents, unknown } = await findDependents(catalog, keys, stateDir, run.storage);
  const report = run.force ? log.warn.bind(log) : log.error.bind(log);
  for (const d of dependents) {
    const name = volumes.find((v) => v.objectKey === d.objectKey)!.name;
    const more = d.files > d.paths.length ? ", ..." : "";
    report(
      `${quotePath(name)} is still needed by backup ${d.backupId}` +
        `${d.fromBucket ? " (from its catalog copy)" : ""}: it would lose ` +
        `${plural(d.files, "entry", "entries")} (${d.paths.map(quotePath).join(", ")}${more})`,
    );
  }
  for (const u of unknown) {
    report(`cannot tell whether backup ${u.backupId} needs these volumes: ${u.reason}`);
  }
  if (run.force || (dependents.length === 0 && unknown.length === 0)) return;
  const needed = new Set(dependents.map((d) => d.objectKey)).size;
  throw new UsageError(
    (needed > 0
      ? `${plural(needed, "volume")} still needed by other backups`
      : "other backups may need these volumes") +
      " (listed above): nothing was deleted; --force deletes anyway",
  );
}

/**
 * Looks the volume's object up: is it there, is it locked, and what would deleting it now cost?
 * `storedSince` is when the catalog says it was uploaded, for a store that reports no date.
 */
export async function inspectTarget(
  volume: VolumeRecord,
  run: Pick<DeleteRun, "storage" | "chargesApply" | "prices">,
  storedSince: () => Date | undefined,
): Promise<Target> {
  const info = await run.storage.headObject(volume.objectKey);
  if (!info) return { volume, present: false, storageClass: volume.storageClass };
  if (info.retainUntil && info.retainUntil.getTime() > Date.now()) {
    const locked = { until: info.retainUntil, mode: info.retentionMode ?? "GOVERNANCE" };
    return { volume, present: true, storageClass: info.storageClass, locked };
  }
  const since = info.lastModified ?? storedSince();
  const early = run.chargesApply && since
    ? earlyDeletion(info.size, info.storageClass, since, run.prices)
    : undefined;
  return { volume, present: true, storageClass: info.storageClass, early };
}

/** The line that says a volume is locked and will not be deleted. */
export function describeLocked(target: Target): string {
  const { until, mode } = target.locked!;
  return `${quotePath(target.volume.name)} is locked (Object Lock, ${mode.toLowerCase()}) until ` +
    `${until.toISOString()}: it will not be deleted`;
}

/** The line that says what deleting a volume means: gone already, or its early-deletion charge. */
export function describeTarget(target: Target): string {
  const v = target.volume;
  const what = `${quotePath(v.name)} (${formatBytes(v.size ?? 0)}, ${target.storageClass})`;
  if (!target.present) return `${what}: not in the bucket any more; will be marked deleted`;
  const early = target.early;
  if (!early) return `${what}: will be deleted`;
  return `${what}: will be deleted after ${plural(early.ageDays, "day")} of the ` +
    `${early.minimumDays}-day minimum; early-deletion charge for the ` +
    `${plural(early.daysLeft, "day")} left: ${formatDollars(early.charge)}`;
}
