/**
 * The base of an incremental backup (`backup --base`): found (`latest`), checked, locked for the
 * whole run so that it cannot change underneath, and fingerprinted so that a resume can tell it
 * is still the backup the incremental was made on. Every refusal is a `UsageError` (exit 2),
 * raised before anything is uploaded.
 */
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { Catalog, type ChainLink } from "../catalog/catalog.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { StateDbLock } from "../catalog/lock.ts";
import { backupIdOfStateDbName, stateDbName } from "../archive/layout.ts";
import { errorLine, UsageError } from "../archive/errors.ts";
import type { Storage } from "../storage/storage.ts";
import { existsSync } from "../storage/exists.ts";

/** A base backup, open read-only and locked against other writers until `close`. */
export interface BaseBackup {
  path: string;
  catalog: Catalog;
  /** What the base is now (see `baseFingerprint`). */
  fingerprint: string;
  close(): void;
}

/** Opens and locks the base's state database; refuses an unfinished base. */
export function openBase(path: string): BaseBackup {
  const absolute = resolve(path);
  let lock: StateDbLock;
  try {
    lock = StateDbLock.acquire(absolute);
  } catch (error) {
    throw new UsageError(`base ${absolute}: ${errorLine(error)}`);
  }
  let catalog: Catalog;
  try {
    catalog = Catalog.open(absolute, { readOnly: true });
  } catch (error) {
    lock.release();
    throw new UsageError(`base ${absolute}: ${errorLine(error)}`);
  }
  const base: BaseBackup = {
    path: absolute,
    catalog,
    fingerprint: baseFingerprint(catalog),
    close: () => {
      catalog.close();
      lock.release();
    },
  };
  if (catalog.phase() !== "done") {
    base.close();
    throw new UsageError(
      `base ${absolute} is not a finished backup: finish it first (glacier resume)`,
    );
  }
  return base;
}

/**
 * What a base backup is, as a short hash: when it finished, and each of its volumes with its state
 * and checksum. A volume deleted or marked missing since changes it.
 */
export function baseFingerprint(catalog: Catalog): string {
  const volumes = catalog.volumes().map((v) => [v.id, v.backupId ?? null, v.state, v.sha256]);
  return createHash("sha256")
    .update(JSON.stringify([catalog.meta("finished_at") ?? null, volumes]))
    .digest("hex");
}

/** What the new backup is to be, for the checks against its base. */
export interface IncrementalRequest {
  bucket: string;
  prefix: string;
  /** `--recipient` keys given (none: take the base's key). */
  recipients: string[];
  /** `--compression`, when given. */
  compression?: BackupSettings["compression"];
  /** `--encrypt` / `--no-encrypt`, when given. */
  encrypt?: boolean;
}

/**
 * Refuses a base that cannot carry the new backup: another bucket or prefix, another key or
 * compression, or volumes no longer uploaded (deleted or missing).
 */
export function checkBase(base: BaseBackup, request: IncrementalRequest): void {
  const settings = base.catalog.settings();
  const name = `base ${settings.backupId}`;
  if (normalBucket(settings.bucket) !== normalBucket(request.bucket)) {
    throw new UsageError(`${name} is in bucket ${settings.bucket}, not ${request.bucket}`);
  }
  if (settings.prefix !== request.prefix) {
    throw new UsageError(
      `${name} is under prefix ${JSON.stringify(settings.prefix)}, not ` +
        JSON.stringify(request.prefix),
    );
  }
  if (request.encrypt !== undefined && request.encrypt !== settings.encrypt) {
    throw new UsageError(
      `${name} is ${settings.encrypt ? "" : "not "}encrypted: a chain uses one key throughout`,
    );
  }
  const baseRecipients = [...base.catalog.recipients()].sort();
  if (
    request.recipients.length > 0 &&
    JSON.stringify([...request.recipients].sort()) !== JSON.stringify(baseRecipients)
  ) {
    throw new UsageError(
      `${name} is encrypted to other keys than --recipient gives: a chain uses one key ` +
        `throughout (leave --recipient out to use the base's)`,
    );
  }
  if (request.compression !== undefined && request.compression !== settings.compression) {
    throw new UsageError(
      `${name} uses ${settings.compression} compression, not ${request.compression}: a chain ` +
        `uses one compression`,
    );
  }
  const lost = base.catalog.db.prepare(
    "SELECT v.name, v.state FROM volumes v WHERE v.state <> 'uploaded' AND EXISTS " +
      "(SELECT 1 FROM files f WHERE f.volume_id = v.id AND f.state IN ('stored', 'changed')) " +
      "ORDER BY v.id LIMIT 1",
  ).get() as { name: string; state: string } | undefined;
  if (lost) {
    throw new UsageError(
      `${name} cannot be a base: its volume ${lost.name} is ${lost.state} (start a new full backup)`,
    );
  }
}

/**
 * Refuses a base whose chain has a missing link: every earlier backup of its chain must have its
 * state database beside the base's or its catalog copy in the bucket.
 */
export async function checkChain(base: BaseBackup, storage: Storage): Promise<void> {
  const chain = base.catalog.chain();
  for (const link of chain.slice(0, -1)) {
    if (existsSync(join(dirname(base.path), stateDbName(link.backupId)))) continue;
    if (await storage.headObject(link.catalogKey)) continue;
    throw new UsageError(
      `the chain of base ${base.catalog.settings().backupId} is missing backup ` +
        `${link.backupId}: no state database beside the base and no catalog copy at ` +
        link.catalogKey,
    );
  }
}

/** The chain a new incremental on this base continues. */
export function chainOf(base: BaseBackup): ChainLink[] {
  return base.catalog.chain();
}

/**
 * `--base latest`: the newest finished backup in `stateDir` of the same sources, bucket and
 * prefix; a usage error when there is none.
 */
export function latestBase(
  stateDir: string,
  wanted: Pick<BackupSettings, "sourceDirs" | "bucket" | "prefix">,
): string {
  let names: string[];
  try {
    names = [...Deno.readDirSync(stateDir)].filter((e) => e.isFile).map((e) => e.name);
  } catch (error) {
    throw new UsageError(`--base latest: cannot read ${stateDir}: ${errorLine(error)}`);
  }
  const candidates = names.filter((n) => backupIdOfStateDbName(n) !== undefined).sort().reverse();
  for (const name of candidates) {
    const path = join(stateDir, name);
    let catalog: Catalog;
    try {
      catalog = Catalog.open(path, { readOnly: true });
    } catch {
      continue;
    }
    try {
      const settings = catalog.settings();
      if (
        catalog.phase() === "done" &&
        JSON.stringify(settings.sourceDirs) === JSON.stringify(wanted.sourceDirs) &&
        normalBucket(settings.bucket) === normalBucket(wanted.bucket) &&
        settings.prefix === wanted.prefix
      ) return path;
    } finally {
      catalog.close();
    }
  }
  throw new UsageError(
    `--base latest: no finished backup of these folders to ${wanted.bucket} in ${stateDir}`,
  );
}

/** A bucket as compared: `s3://name` and `name` are the same bucket. */
function normalBucket(bucket: string): string {
  return bucket.trim().replace(/^s3:\/\//i, "").replace(/\/+$/, "");
}
