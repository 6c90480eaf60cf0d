/**
 * Waiting for thaws: checks the thawing volumes once at once (an S3-compatible server or an
 * Expedited retrieval may be ready in seconds), then every so often (HeadObject and its
 * `x-amz-restore`), and hands each one on as soon as it is readable. A volume found frozen again
 * (its thawed copy expired, or the request was lost) is requested once more.
 */
import type { Catalog } from "../catalog/catalog.ts";
import { recordThawed } from "../catalog/restore_state.ts";
import { formatDuration } from "../archive/units.ts";
import type { Reporter } from "../archive/report.ts";
import { abortableSleep } from "../storage/retry.ts";
import type { RestoreTier, Storage } from "../storage/storage.ts";
import type { VolumePlan } from "./plan.ts";
import { mapLimit } from "../memory/concurrency.ts";
import { pollIntervalMs, requestThaw, volumeStatus } from "./thaw.ts";

/** A volume being thawed, with the class the bucket reports for it. */
export interface ThawingVolume {
  plan: VolumePlan;
  storageClass: string;
}

/** What `waitForThaws` works with and reports to. */
export interface ThawWait {
  catalog: Catalog;
  storage: Storage;
  folderBucket: boolean;
  /** Tier and days for a repeated request. */
  tier: RestoreTier;
  days: number;
  log: Reporter;
  signal: AbortSignal;
  /** A volume is readable now. */
  onReady: (plan: VolumePlan) => void;
  /** A volume is gone from the bucket. */
  onGone: (plan: VolumePlan) => void;
}

/** HeadObject requests sent at once. */
const CONCURRENCY = 8;

/**
 * Waits until every volume of `thawing` is readable (or gone); rejects if `signal` aborts. The
 * first check is made at once, the next ones after the poll interval.
 */
export async function waitForThaws(thawing: ThawingVolume[], wait: ThawWait): Promise<void> {
  const { log } = wait;
  let waiting = thawing;
  const interval = pollIntervalMs(waiting.map((w) => w.storageClass), wait.tier);
  const started = Date.now();
  let firstCheck = true;
  while (waiting.length > 0) {
    if (!firstCheck) {
      log.info(
        `waiting for ${waiting.length} volume${waiting.length === 1 ? "" : "s"} to thaw (waited ` +
          `${formatDuration((Date.now() - started) / 1000)}); next check in ` +
          formatDuration(interval / 1000),
      );
      await abortableSleep(interval, wait.signal);
    }
    firstCheck = false;
    wait.signal.throwIfAborted();
    const statuses = await mapLimit(
      waiting,
      CONCURRENCY,
      (w) => volumeStatus(wait.storage, w.plan.volume, wait.folderBucket),
    );
    const still: ThawingVolume[] = [];
    for (const [i, status] of statuses.entries()) {
      const w = waiting[i];
      const volume = w.plan.volume;
      if (status.readiness === "ready") {
        recordThawed(wait.catalog, volume.id);
        log.info(`${volume.name} is thawed`);
        wait.onReady(w.plan);
      } else if (status.readiness === "absent") {
        log.error(`volume ${volume.name} disappeared from the bucket`);
        wait.onGone(w.plan);
      } else {
        if (status.readiness === "archived") {
          await requestThaw(wait.storage, wait.catalog, volume, wait.tier, wait.days);
          log.warn(`${volume.name} is frozen again: its thaw is requested once more`);
        }
        still.push(w);
      }
    }
    waiting = still;
  }
}
