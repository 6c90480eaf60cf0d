/**
 * The cost of a backup recorded in a state database: keeping its volumes, and restoring all of
 * them (or those holding the files `--include` names) with each retrieval tier.
 */
import type { Catalog, VolumeRecord } from "../catalog/catalog.ts";
import { compileIncludes } from "../archive/patterns.ts";
import { selectFiles } from "./file_selection.ts";
import { totalsByClass } from "./class_totals.ts";
import {
  NO_RESTORE_COST,
  type PriceTable,
  type RestoreCost,
  restoreCost,
  type RetrievalTier,
  storageCostPerMonth,
} from "./prices.ts";
import { minimumStorageDays, thawTiers, thawWait } from "../storage/storage_class.ts";

/** Keeping the volumes of one storage class. */
export interface StorageEstimate {
  storageClass: string;
  volumes: number;
  bytes: number;
  perMonth: number;
  perYear: number;
  /** Deleting earlier than this is charged as if kept this long. */
  minimumDays: number;
}

/** Restoring the selected volumes of one storage class with one tier, and what it costs. */
export interface RestoreOption extends RestoreCost {
  storageClass: string;
  /** `null` for classes readable without a restore. */
  tier: RetrievalTier | null;
  /** Typical wait, e.g. `within 12 h`. */
  wait: string;
  waitMaxMinutes: number;
  volumes: number;
  bytes: number;
}

/** Everything `glacier estimate` reports. */
export interface BackupEstimate {
  backupId: string;
  /** The bucket is a folder on disk: keeping and reading it costs nothing (no thaw, no transfer). */
  folderBucket: boolean;
  volumes: number;
  bytes: number;
  storage: StorageEstimate[];
  restore: {
    /** The `--include` patterns (empty: everything). */
    include: string[];
    /** Matching files, folders and symlinks. */
    entries: number;
    fileBytes: number;
    volumes: number;
    bytes: number;
    /** Days the thawed copies are kept. */
    days: number;
    options: RestoreOption[];
  };
  prices: { region: string; takenOn: string; source: string };
}

/** Settings of an estimate. */
export interface EstimateOptions {
  include: string[];
  days: number;
  prices: PriceTable;
  /** The backup's bucket is a folder on disk (`file:`), which AWS does not charge for. */
  folderBucket: boolean;
}

/** Estimates the costs of the backup in `catalog`. */
export function estimateBackup(catalog: Catalog, options: EstimateOptions): BackupEstimate {
  const { prices } = options;
  const volumes = catalog.volumes().filter((v) => v.state !== "deleted" && v.state !== "missing");
  const selection = selectFiles(catalog, compileIncludes(options.include));
  const selected = volumes.filter((v) => selection.volumeIds.has(v.id));

  const { folderBucket } = options;
  const storage = totalsByClass(volumes, volumeBytes).map(({ storageClass, volumes, bytes }) => {
    const perMonth = folderBucket ? 0 : storageCostPerMonth(bytes, volumes, storageClass, prices);
    return {
      storageClass,
      volumes,
      bytes,
      perMonth,
      perYear: perMonth * 12,
      minimumDays: folderBucket ? 0 : minimumStorageDays(storageClass),
    };
  });

  const restoreOptions: RestoreOption[] = [];
  for (const group of totalsByClass(selected, volumeBytes)) {
    if (folderBucket) {
      // A folder is read as it is: nothing to thaw, nothing downloaded from the internet.
      restoreOptions.push({
        storageClass: group.storageClass,
        tier: null,
        wait: "none",
        waitMaxMinutes: 0,
        volumes: group.volumes,
        bytes: group.bytes,
        ...NO_RESTORE_COST,
      });
      continue;
    }
    const tiers: (RetrievalTier | undefined)[] = thawTiers(group.storageClass);
    for (const tier of tiers.length > 0 ? tiers : [undefined]) {
      // Defined: the tier is one the class offers, or none for a class readable at once.
      const wait = thawWait(group.storageClass, tier)!;
      const cost = restoreCost({
        bytes: group.bytes,
        objects: group.volumes,
        storageClass: group.storageClass,
        tier,
        days: options.days,
      }, prices);
      restoreOptions.push({
        storageClass: group.storageClass,
        tier: tier ?? null,
        wait: wait.text,
        waitMaxMinutes: wait.maxMinutes,
        volumes: group.volumes,
        bytes: group.bytes,
        ...cost,
      });
    }
  }

  return {
    backupId: catalog.settings().backupId,
    folderBucket,
    volumes: volumes.length,
    bytes: sumBytes(volumes),
    storage,
    restore: {
      include: options.include,
      entries: selection.entries,
      fileBytes: selection.fileBytes,
      volumes: selected.length,
      bytes: sumBytes(selected),
      days: options.days,
      options: restoreOptions,
    },
    prices: { region: prices.region, takenOn: prices.takenOn, source: prices.source },
  };
}

/** Bytes a volume takes in the bucket: its size once built, its planned size before. */
function volumeBytes(volume: VolumeRecord): number {
  return volume.size ?? volume.plannedBytes;
}

function sumBytes(volumes: VolumeRecord[]): number {
  return volumes.reduce((sum, v) => sum + volumeBytes(v), 0);
}
