/**
 * Thawing: whether each volume can be downloaded now (HeadObject and its `x-amz-restore`), the
 * RestoreObject requests for those that cannot, recorded in the catalog as they are sent, and
 * how often to look again while waiting.
 */
import type { Catalog, VolumeRecord } from "../catalog/catalog.ts";
import { recordThawRequest } from "../catalog/restore_state.ts";
import { needsThaw } from "../storage/storage_class.ts";
import { ExpeditedUnavailableError, type RestoreTier, type Storage } from "../storage/storage.ts";

/**
 * Where a volume stands: `ready` (readable now: not archived, or thawed), `thawing` (a restore
 * is in progress), `archived` (frozen, no restore requested), `absent` (no such object).
 */
export type Readiness = "ready" | "thawing" | "archived" | "absent";

/** A volume's state in the bucket. */
export interface VolumeStatus {
  readiness: Readiness;
  /** Storage class the bucket reports (the catalog's when absent). */
  storageClass: string;
  /** Size the bucket reports (the catalog's when absent). */
  size: number;
}

/**
 * Looks a volume up in the bucket. In a folder bucket (`file:`) nothing is ever archived,
 * whatever class was recorded.
 */
export async function volumeStatus(
  storage: Storage,
  volume: VolumeRecord,
  folderBucket: boolean,
): Promise<VolumeStatus> {
  const info = await storage.headObject(volume.objectKey);
  if (!info) {
    return { readiness: "absent", storageClass: volume.storageClass, size: volume.size ?? 0 };
  }
  let readiness: Readiness = "ready";
  if (!folderBucket && needsThaw(info.storageClass)) {
    readiness = info.restore === "restored"
      ? "ready"
      : info.restore === "in-progress"
      ? "thawing"
      : "archived";
  }
  return { readiness, storageClass: info.storageClass, size: info.size };
}

/**
 * Sends RestoreObject for a volume and records it in the catalog. When AWS has no expedited
 * capacity, each tier of `fallbackTiers` is asked in turn (`--tier expedited,standard`), and
 * `onFallback` says so; without one left, the refusal is thrown. Returns the tier requested.
 */
export async function requestThaw(
  storage: Storage,
  catalog: Catalog,
  volume: VolumeRecord,
  tier: RestoreTier,
  days: number,
  fallbackTiers: readonly RestoreTier[] = [],
  onFallback?: (refused: RestoreTier, next: RestoreTier) => void,
): Promise<RestoreTier> {
  const tiers = [tier, ...fallbackTiers];
  for (let i = 0;; i++) {
    try {
      await storage.restoreObject(volume.objectKey, days, tiers[i]);
      recordThawRequest(catalog, volume.id, tiers[i], days);
      return tiers[i];
    } catch (error) {
      if (!(error instanceof ExpeditedUnavailableError) || i + 1 >= tiers.length) throw error;
      onFallback?.(tiers[i], tiers[i + 1]);
    }
  }
}

/** Environment variable that sets the wait between two checks, in milliseconds (for tests). */
export const POLL_INTERVAL_ENV = "GLACIER_RESTORE_POLL_MS";

/**
 * How long to wait between two checks of thawing volumes: 30 s for Expedited, 5 min for
 * Flexible Retrieval, 15 min for Deep Archive (a thaw takes hours there), unless
 * `GLACIER_RESTORE_POLL_MS` says otherwise.
 */
export function pollIntervalMs(
  storageClasses: Iterable<string>,
  tier: RestoreTier,
  env: { get(name: string): string | undefined } = Deno.env,
): number {
  const override = Number(env.get(POLL_INTERVAL_ENV));
  if (env.get(POLL_INTERVAL_ENV) && Number.isFinite(override) && override > 0) return override;
  if (tier === "Expedited") return 30_000;
  for (const storageClass of storageClasses) {
    if (storageClass === "DEEP_ARCHIVE") return 15 * 60_000;
  }
  return 5 * 60_000;
}
