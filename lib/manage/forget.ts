/**
 * `glacier forget`: removes the backups a keep policy (forget_policy.ts) no longer wants, from the
 * backups of the state folder. It deletes exactly the volumes that no kept backup needs (an
 * incremental backup needs volumes of earlier backups of its chain) and the forgotten backups'
 * catalog copies (except those a kept backup's chain links to: they stay, marked forgotten, until
 * no kept chain does), after quoting the early-deletion charge and asking, as `delete` does. Each
 * forgotten state database has its deleted volumes marked, then is moved to the `forgotten/`
 * folder of the state folder, where no command looks for backups; a kept backup's state database
 * is only read. For each kept volume that also held forgotten files, it says how many of its bytes
 * no kept backup needs any more (dead data), so the user can decide when to start a new full
 * backup.
 */
import { basename, join } from "node:path";
import { Catalog } from "../catalog/catalog.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { markVolumeDeleted, uploadedAt } from "../catalog/volume_state.ts";
import { markForgotten } from "../catalog/forgotten.ts";
import { eachFileHeldIn } from "../catalog/snapshot_volumes.ts";
import { type NeededVolume, volumesNeeded } from "../catalog/chain.ts";
import {
  backupIdOfStateDbName,
  catalogCopyKey,
  isBackupId,
  isVolumeName,
  objectKey,
} from "../archive/layout.ts";
import { UsageError } from "../archive/errors.ts";
import { formatBytes } from "../archive/units.ts";
import type { Outcome, Reporter } from "../archive/report.ts";
import { formatDollars } from "../pricing/money.ts";
import type { PriceTable } from "../pricing/prices.ts";
import type { ObjectInfo, Storage } from "../storage/storage.ts";
import { lockPath } from "../catalog/lock.ts";
import { existsSync } from "../storage/exists.ts";
import { refreshCatalogCopy } from "./backup_storage.ts";
import { describeLocked, describeTarget, inspectTarget, type Target } from "./delete.ts";
import {
  applyKeepPolicy,
  type KeepPolicy,
  type KeepReason,
  keepsNothing,
} from "./forget_policy.ts";
import { type BucketSnapshots, readBucketSnapshots } from "./bucket_snapshots.ts";
import {
  bucketIdentity,
  groupBackups,
  readStateFolder,
  sameArea,
  type StateDbEntry,
} from "./state_folder.ts";
import { plural } from "./show_format.ts";
import { quotePath } from "../archive/quote_path.ts";

/** The folder of the state folder that forgotten state databases are moved to. */
export const FORGOTTEN_FOLDER = "forgotten";

/** How `forgetBackups` runs. */
export interface ForgetRun {
  stateDir: string;
  policy: KeepPolicy;
  /** Forget every finished backup: needed when the policy keeps none. */
  forgetAll: boolean;
  /** Say what would go, and change nothing. */
  dryRun: boolean;
  /** Delete without asking. */
  assumeYes: boolean;
  /** Only the backups of this bucket (and of `prefix`, when given). */
  bucket?: string;
  prefix?: string;
  /** The bucket of a backup, with the command line's overrides; `chargesApply` false for a folder. */
  openStorage(settings: BackupSettings): { storage: Storage; chargesApply: boolean };
  prices: PriceTable;
  log: Reporter;
  /** Asks the user (yes: true); absent when there is no terminal to ask on. */
  confirm?: (question: string) => Promise<boolean>;
}

/** A kept backup: from the state folder (with why), or from the bucket's catalog copy only. */
interface KeptBackup {
  backupId: string;
  catalog: Catalog;
}

/** A forgotten backup, its state database open (for writing, except in a dry run). */
interface ForgottenBackup {
  entry: StateDbEntry;
  catalog: Catalog;
  /** The object keys of the volumes it needs that no kept backup needs. */
  doomed: string[];
  /** Its catalog copy, when the bucket holds it. */
  copy?: { key: string; locked?: Date };
  /**
   * True when a kept backup's chain links to it: its catalog copy stays (marked forgotten), as a
   * chain must not lack a link (`backup --base` refuses such a chain).
   */
  link: boolean;
}

/** A volume to delete, and the rows of the forgotten state databases that describe it. */
interface DoomedVolume {
  target: Target;
  /** The backup that stored it. */
  owner: string;
  holders: { catalog: Catalog; volumeId: number }[];
}

/** Everything decided about one bucket and prefix before anything is deleted. */
interface AreaPlan {
  settings: BackupSettings;
  storage: Storage;
  kept: KeptBackup[];
  forgotten: ForgottenBackup[];
  doomed: Map<string, DoomedVolume>;
  bucketCopies?: BucketSnapshots;
  /** State databases of earlier forgotten backups, read for the dead-data sums. */
  asides: Catalog[];
  /** Catalog copies of backups forgotten earlier that no kept backup's chain links to now. */
  staleLinks: { backupId: string; key: string; locked?: Date }[];
}

/** Runs the policy over the state folder; see the module comment. */
export async function forgetBackups(run: ForgetRun): Promise<Outcome> {
  const { log } = run;
  if (keepsNothing(run.policy) && !run.forgetAll) {
    throw new UsageError(
      "this policy keeps no backup: give --keep-last, --keep-daily or --keep-monthly a number " +
        "from 1, or --forget-all to forget every backup",
    );
  }
  const entries = (await readStateFolder(run.stateDir)).filter((e) =>
    (run.bucket === undefined ||
      bucketIdentity(e.settings.bucket) === bucketIdentity(run.bucket)) &&
    (run.prefix === undefined || e.settings.prefix === run.prefix)
  );
  if (entries.length === 0) {
    log.info(`no backups in ${run.stateDir}${run.bucket ? ` for ${run.bucket}` : ""}`);
    return "done";
  }
  /** Why each kept backup is kept: the policy's rules, or a sentence. */
  const kept = new Map<string, KeepReason[] | string>();
  const forgotten = new Set<string>();
  const groups = groupBackups(entries);
  for (const group of groups) {
    const finished = group.backups.filter((b) => b.phase === "done").map((b) => b.backupId);
    const verdict = run.forgetAll
      ? { kept: [], forgotten: finished }
      : applyKeepPolicy(finished, run.policy);
    for (const k of verdict.kept) kept.set(k.backupId, k.reasons);
    for (const id of verdict.forgotten) forgotten.add(id);
  }
  for (const b of entries.filter((b) => b.phase !== "done")) {
    kept.set(b.backupId, "unfinished");
    // An unfinished incremental resumes on top of its base: the base must stay as it is.
    for (const id of b.chain.filter((id) => id !== b.backupId && forgotten.delete(id))) {
      kept.set(id, `base of unfinished ${b.backupId}`);
    }
  }
  for (const group of groups) {
    log.info(
      `backups of ${group.sourceDirs.map(quotePath).join(" ")} in ${group.bucket}` +
        `${group.prefix ? ` under ${group.prefix}/` : ""}:`,
    );
    for (const b of [...group.backups].reverse()) {
      const why = kept.get(b.backupId);
      log.info(
        why === undefined
          ? `  forget ${b.backupId}`
          : `  keep   ${b.backupId} (${typeof why === "string" ? why : why.join(", ")})`,
      );
    }
  }
  if (forgotten.size === 0) {
    log.info("nothing to forget");
    return "done";
  }

  const plans: AreaPlan[] = [];
  try {
    for (const area of areas(entries)) {
      if (!area.some((e) => forgotten.has(e.backupId))) continue;
      plans.push(await planArea(run, area, forgotten));
    }
    for (const plan of plans) reportPlan(run, plan);
    const doomed = plans.flatMap((p) => [...p.doomed.values()]).filter((d) => !d.target.locked);
    const copies = [
      ...plans.flatMap((p) => p.forgotten).filter((f) => f.copy && !f.copy.locked && !f.link),
      ...plans.flatMap((p) => p.staleLinks).filter((l) => !l.locked),
    ];
    const bytes = doomed.reduce((n, d) => n + (d.target.volume.size ?? 0), 0);
    const charge = doomed.reduce((n, d) => n + (d.target.early?.charge ?? 0), 0);
    if (charge > 0) {
      log.warn(
        `deleting now costs an early-deletion charge of about ${formatDollars(charge)} ` +
          `(${run.prices.source})`,
      );
    }
    const what = `${plural(doomed.length, "volume")} (${formatBytes(bytes)}) and ` +
      `${plural(copies.length, "catalog copy", "catalog copies")}`;
    if (run.dryRun) {
      log.info(`dry run: would forget ${plural(forgotten.size, "backup")}, deleting ${what}`);
      return "done";
    }
    const question = `forget ${plural(forgotten.size, "backup")}: delete ${what} from ` +
      `${[...new Set(plans.map((p) => p.storage.description))].join(", ")}? ` +
      "This cannot be undone.";
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
    let outcome: Outcome = "done";
    for (const plan of plans) {
      if (await carryOut(run, plan) !== "done") outcome = "done-with-warnings";
    }
    return outcome;
  } finally {
    for (const plan of plans) await closePlan(plan);
  }
}

/** The entries split by bucket and prefix. */
function areas(entries: StateDbEntry[]): StateDbEntry[][] {
  const result: StateDbEntry[][] = [];
  for (const entry of entries) {
    const area = result.find((a) => sameArea(a[0].settings, entry.settings));
    if (area) area.push(entry);
    else result.push([entry]);
  }
  return result;
}

async function planArea(
  run: ForgetRun,
  area: StateDbEntry[],
  forgottenIds: Set<string>,
): Promise<AreaPlan> {
  const settings = area[area.length - 1].settings;
  const { storage, chargesApply } = run.openStorage(settings);
  const plan: AreaPlan = {
    settings,
    storage,
    kept: [],
    forgotten: [],
    doomed: new Map(),
    asides: [],
    staleLinks: [],
  };
  try {
    await storage.checkAccess();
    for (const entry of area) {
      if (forgottenIds.has(entry.backupId)) {
        const catalog = Catalog.open(entry.path, { readOnly: run.dryRun });
        plan.forgotten.push({ entry, catalog, doomed: [], link: false });
      } else {
        const catalog = Catalog.open(entry.path, { readOnly: true });
        plan.kept.push({ backupId: entry.backupId, catalog });
      }
    }
    const identities = [...plan.kept, ...plan.forgotten].map((b) => b.catalog.identity())
      .filter((i): i is string => i !== undefined);
    plan.bucketCopies = await readBucketSnapshots({
      storage,
      prefix: settings.prefix,
      known: new Set([...await asideIds(run.stateDir), ...area.map((e) => e.backupId)]),
      identities: [...new Set(identities)],
      encrypted: [...plan.kept, ...plan.forgotten].some((b) => b.catalog.recipients().length > 0),
    });
    if (plan.bucketCopies.unreadable.length > 0) {
      const first = plan.bucketCopies.unreadable[0];
      throw new UsageError(
        `cannot read the catalog copy of backup ${first.backupId} in ${storage.description} ` +
          `(${first.reason}), so which volumes it needs is unknown: put its state database in ` +
          `${run.stateDir}; nothing was deleted`,
      );
    }
    for (const s of plan.bucketCopies.snapshots) {
      run.log.info(`keep   ${s.backupId} (no state database here; its catalog copy is read)`);
      plan.kept.push(s);
    }
    plan.asides = openAsides(run.stateDir, settings);
    const keptChains = new Set(
      plan.kept.flatMap((k) => k.catalog.chain().map((link) => link.backupId)),
    );
    const links = [
      ...plan.bucketCopies.forgottenLinks,
      ...plan.asides.map((c) => ({
        backupId: c.settings().backupId,
        key: catalogCopyKey(c.settings(), c.recipients().length > 0),
      })),
    ];
    for (const link of links) {
      if (keptChains.has(link.backupId)) continue;
      const info = await storage.headObject(link.key);
      if (info) plan.staleLinks.push({ ...link, locked: lockedUntil(info) });
    }

    const needed = new Set(
      plan.kept.flatMap((k) => volumesNeeded(k.catalog)).map((v) => v.objectKey),
    );
    for (const f of plan.forgotten) {
      for (const volume of volumesOf(f.catalog)) {
        if (needed.has(volume.objectKey)) continue;
        checkVolumeKey(volume, settings.prefix, f.entry.path);
        f.doomed.push(volume.objectKey);
        const row = f.catalog.volumes().find((v) => v.objectKey === volume.objectKey)!;
        let doomed = plan.doomed.get(volume.objectKey);
        if (!doomed) {
          const target = await inspectTarget(
            row,
            { storage, chargesApply, prices: run.prices },
            () => uploadedAt(f.catalog, row.id),
          );
          doomed = { target, owner: volume.backupId, holders: [] };
          plan.doomed.set(volume.objectKey, doomed);
        }
        doomed.holders.push({ catalog: f.catalog, volumeId: row.id });
      }
      const key = catalogCopyKey(f.entry.settings, f.catalog.recipients().length > 0);
      const info = await storage.headObject(key);
      if (info) f.copy = { key, locked: lockedUntil(info) };
      f.link = keptChains.has(f.entry.backupId);
    }
  } catch (error) {
    await closePlan(plan);
    throw error;
  }
  return plan;
}

/**
 * The volumes a forgotten backup may leave in the bucket: those its snapshot needs, and its own
 * uploaded ones even when they hold no entry of the catalog (the deleted-paths list alone).
 */
function volumesOf(catalog: Catalog): NeededVolume[] {
  const backupId = catalog.settings().backupId;
  const volumes = new Map(volumesNeeded(catalog).map((v) => [v.objectKey, v]));
  for (const v of catalog.ownVolumes()) {
    if (v.state !== "uploaded" && v.state !== "missing") continue;
    if (!volumes.has(v.objectKey)) {
      volumes.set(v.objectKey, { backupId, name: v.name, objectKey: v.objectKey });
    }
  }
  return [...volumes.values()];
}

/** When an object's Object Lock retention ends, if it still runs. */
function lockedUntil(info: ObjectInfo | undefined): Date | undefined {
  const until = info?.retainUntil;
  return until && until.getTime() > Date.now() ? until : undefined;
}

/** A volume key read from a catalog must be where the layout puts that backup's volume. */
function checkVolumeKey(volume: NeededVolume, prefix: string, path: string): void {
  const ok = isBackupId(volume.backupId) && isVolumeName(volume.name) &&
    volume.objectKey === objectKey({ prefix, backupId: volume.backupId }, volume.name);
  if (!ok) {
    throw new UsageError(
      `${path} names the volume ${JSON.stringify(volume.objectKey)}, which is not a volume ` +
        "key of its bucket and prefix (damaged or forged); nothing was deleted",
    );
  }
}

async function asideIds(stateDir: string): Promise<string[]> {
  const ids: string[] = [];
  try {
    for await (const item of Deno.readDir(join(stateDir, FORGOTTEN_FOLDER))) {
      const id = backupIdOfStateDbName(item.name);
      if (id) ids.push(id);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return ids;
}

/** The state databases forgotten earlier for the same bucket and prefix, open read-only. */
function openAsides(stateDir: string, settings: BackupSettings): Catalog[] {
  const folder = join(stateDir, FORGOTTEN_FOLDER);
  const catalogs: Catalog[] = [];
  if (!existsSync(folder)) return catalogs;
  for (const item of Deno.readDirSync(folder)) {
    if (!backupIdOfStateDbName(item.name)) continue;
    try {
      const catalog = Catalog.open(join(folder, item.name), { readOnly: true });
      if (sameArea(catalog.settings(), settings)) catalogs.push(catalog);
      else catalog.close();
    } catch {
      // Only read for the dead-data sums: an unreadable one leaves them smaller.
    }
  }
  return catalogs;
}

function reportPlan(run: ForgetRun, plan: AreaPlan): void {
  const { log } = run;
  for (const doomed of plan.doomed.values()) {
    const { target, owner } = doomed;
    if (target.locked) log.warn(`${describeLocked(target)} (backup ${owner})`);
    else log.info(`${describeTarget(target)} (backup ${owner})`);
  }
  for (const f of plan.forgotten.filter((f) => f.link)) {
    log.info(
      `the catalog copy of ${f.entry.backupId} stays, marked forgotten: the chain of a kept ` +
        "backup links to it",
    );
  }
  for (const link of plan.staleLinks) {
    log.info(
      `the catalog copy ${quotePath(link.key)} of forgotten backup ${link.backupId}, which no ` +
        `kept backup's chain links to any more, ${link.locked ? "is locked" : "will be deleted"}`,
    );
  }
  for (const f of plan.forgotten.filter((f) => !f.link)) {
    if (f.copy?.locked) {
      log.warn(
        `the catalog copy ${quotePath(f.copy.key)} is locked (Object Lock) until ` +
          `${f.copy.locked.toISOString()}: it will not be deleted`,
      );
    }
  }
  for (const line of deadDataLines(plan)) log.info(line);
}

/**
 * For each kept volume that forgotten backups also point at: the bytes of its files that no kept
 * backup holds any more.
 */
function deadDataLines(plan: AreaPlan): string[] {
  const keptCatalogs = plan.kept.map((k) => k.catalog);
  const goneCatalogs = [...plan.forgotten.map((f) => f.catalog), ...plan.asides];
  const keptVolumes = new Map<string, NeededVolume>();
  for (const c of keptCatalogs) for (const v of volumesNeeded(c)) keptVolumes.set(v.objectKey, v);
  const lines: string[] = [];
  let deadTotal = 0;
  for (const [key, volume] of [...keptVolumes].sort()) {
    const live = new Set<string>();
    for (const c of keptCatalogs) for (const f of eachFileHeldIn(c, key)) live.add(f.archivePath);
    const dead = new Map<string, number>();
    for (const c of goneCatalogs) {
      for (const f of eachFileHeldIn(c, key)) {
        if (!live.has(f.archivePath)) dead.set(f.archivePath, f.size);
      }
    }
    if (dead.size === 0) continue;
    const bytes = [...dead.values()].reduce((n, s) => n + s, 0);
    deadTotal += bytes;
    lines.push(
      `kept ${quotePath(volume.name)} (backup ${volume.backupId}): ${formatBytes(bytes)} in ` +
        `${plural(dead.size, "entry", "entries")} that no kept backup needs (dead data)`,
    );
  }
  if (lines.length > 0) {
    lines.push(
      `kept volumes hold ${formatBytes(deadTotal)} of dead data: a new full backup (without ` +
        "--base) lets a later forget delete them",
    );
  }
  return lines;
}

/** Deletes what the plan says; "done-with-warnings" when locked objects kept some of it. */
async function carryOut(run: ForgetRun, plan: AreaPlan): Promise<Outcome> {
  const { log } = run;
  const { storage } = plan;
  for (const [key, doomed] of plan.doomed) {
    if (doomed.target.locked) continue;
    await storage.deleteObject(key);
    for (const holder of doomed.holders) markVolumeDeleted(holder.catalog, holder.volumeId);
    log.info(`deleted ${quotePath(key)}${doomed.target.present ? "" : " (already gone)"}`);
  }
  let outcome: Outcome = "done";
  for (const link of plan.staleLinks.filter((l) => !l.locked)) {
    await storage.deleteObject(link.key);
    log.info(`deleted ${quotePath(link.key)}`);
  }
  for (const f of plan.forgotten) {
    const locked = f.doomed.filter((key) => plan.doomed.get(key)!.target.locked);
    if (locked.length > 0 || (f.copy?.locked && !f.link)) {
      outcome = "done-with-warnings";
      log.warn(
        `backup ${f.entry.backupId} is not forgotten yet: ${
          locked.length > 0 ? plural(locked.length, "volume") : "its catalog copy"
        } still locked; its state database stays (run forget again when the lock ends)`,
      );
      await refreshCatalogCopy(f.catalog, storage, log);
      continue;
    }
    markForgotten(f.catalog);
    if (f.link) {
      await refreshCatalogCopy(f.catalog, storage, log);
    } else if (f.copy) {
      await storage.deleteObject(f.copy.key);
      log.info(`deleted ${quotePath(f.copy.key)}`);
    }
    f.catalog.close();
    const moved = await moveAside(run.stateDir, f.entry.path);
    log.info(`forgot backup ${f.entry.backupId}; its state database is now ${quotePath(moved)}`);
  }
  return outcome;
}

/** Moves a closed state database (and its lock and WAL files) into the `forgotten/` folder. */
async function moveAside(stateDir: string, path: string): Promise<string> {
  const folder = join(stateDir, FORGOTTEN_FOLDER);
  await Deno.mkdir(folder, { recursive: true });
  const target = join(folder, basename(path));
  for (const suffix of ["-wal", "-shm"]) {
    if (existsSync(path + suffix)) await Deno.rename(path + suffix, target + suffix);
  }
  await Deno.rename(path, target);
  if (existsSync(lockPath(path))) await Deno.rename(lockPath(path), lockPath(target));
  return target;
}

async function closePlan(plan: AreaPlan): Promise<void> {
  // Closing twice is harmless: the bucket's copies are closed again by their own close.
  for (const k of plan.kept) k.catalog.close();
  for (const f of plan.forgotten) f.catalog.close();
  for (const c of plan.asides) c.close();
  await plan.bucketCopies?.close();
}
