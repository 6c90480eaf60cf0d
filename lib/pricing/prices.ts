/**
 * What S3 charges for a backup: one table of list prices (US East, N. Virginia) and the few cost
 * functions the commands need. The rules of the classes (which need a thaw, with which tiers, the
 * minimum storage durations) are not prices: they are in lib/storage/storage_class.ts. Every function takes an optional `PriceTable` (default
 * `DEFAULT_PRICES`; `loadPrices` in `price_file.ts` applies a user's overrides). Prices are US
 * dollars; sizes are bytes; S3 bills a "GB" as 2^30 bytes.
 *
 * Costs left out on purpose: free tiers (the first 100 GB a month of transfer out), volume
 * discounts beyond the first price tier, taxes, and the small catalog copy in STANDARD.
 */
import { UsageError } from "../archive/errors.ts";
import type { RestoreTier } from "../storage/storage.ts";
import { minimumStorageDays, needsThaw, thawTiers } from "../storage/storage_class.ts";

/** One gigabyte as S3 bills it: 2^30 bytes. */
export const GB = 1024 ** 3;

/** The retrieval tier of a restore (RestoreObject `Tier`). */
export type RetrievalTier = RestoreTier;

/** What one retrieval tier of an archived class costs. */
export interface TierPrices {
  /** Retrieval fee per GB thawed. */
  perGb: number;
  /** Fee per 1,000 restore (RestoreObject) requests. */
  per1000Requests: number;
}

/** The prices of one storage class. */
export interface ClassPrices {
  /** Storage per GB-month (first price tier: the first 50 TB a month). */
  storagePerGbMonth: number;
  /**
   * PUT, COPY, POST and LIST requests per 1,000. A multipart upload is CreateMultipartUpload,
   * one UploadPart per part and CompleteMultipartUpload, each charged at this rate.
   */
  putPer1000: number;
  /** GET and all other requests per 1,000. */
  getPer1000: number;
  /** Retrieval fee per GB read, for classes readable without a restore (IA, Instant Retrieval). */
  retrievalPerGb: number;
  /** Monthly monitoring and automation fee per 1,000 objects (Intelligent-Tiering). */
  monitoringPer1000Objects: number;
  /** Objects smaller than this are billed as this size (the IA and Instant Retrieval classes). */
  minimumObjectBytes: number;
  /**
   * Prices of the retrieval tiers of a class that must be thawed before a download (which tiers
   * a class offers is in lib/storage/storage_class.ts); empty for classes readable at once.
   */
  restoreTiers: Partial<Record<RetrievalTier, TierPrices>>;
}

/** A full price table. */
export interface PriceTable {
  /** Region the prices are for. */
  region: string;
  /** When the prices were taken (YYYY-MM-DD). */
  takenOn: string;
  /** Where the prices come from, as the output says it (the built-in table, a prices file). */
  source: string;
  /** Prices by storage class name, as S3 spells it (`DEEP_ARCHIVE`, ...). */
  classes: Record<string, ClassPrices>;
  /**
   * Extra storage S3 keeps for each object in a class with restore tiers (GLACIER,
   * DEEP_ARCHIVE): index data billed at the class's rate and metadata billed at STANDARD's.
   */
  archiveOverhead: { archiveClassBytes: number; standardClassBytes: number };
  /** Data transfer out to the internet per GB (first paid tier, up to 10 TB a month). */
  transferOutPerGb: number;
}

const KiB = 1024;
const instant = { restoreTiers: {}, monitoringPer1000Objects: 0 };

/**
 * S3 list prices for us-east-1, taken 2026-11-27 from the published S3 pricing page as quoted by
 * several public summaries dated May and June 2026 (the page itself could not be fetched from
 * here). Figures marked "unconfirmed" are the best known value.
 */
export const DEFAULT_PRICES: PriceTable = {
  region: "us-east-1",
  takenOn: "2026-11-27",
  source: "us-east-1 list prices from public summaries of May-June 2026 (built in)",
  classes: {
    STANDARD: {
      ...instant,
      storagePerGbMonth: 0.023,
      putPer1000: 0.005,
      getPer1000: 0.0004,
      retrievalPerGb: 0,
      minimumObjectBytes: 0,
    },
    // Frequent Access tier; objects under 128 KB are not monitored (not modelled here).
    INTELLIGENT_TIERING: {
      ...instant,
      storagePerGbMonth: 0.023,
      putPer1000: 0.005,
      getPer1000: 0.0004,
      retrievalPerGb: 0,
      monitoringPer1000Objects: 0.0025,
      minimumObjectBytes: 0,
    },
    STANDARD_IA: {
      ...instant,
      storagePerGbMonth: 0.0125,
      putPer1000: 0.01,
      getPer1000: 0.001,
      retrievalPerGb: 0.01,
      minimumObjectBytes: 128 * KiB,
    },
    ONEZONE_IA: {
      ...instant,
      storagePerGbMonth: 0.01,
      putPer1000: 0.01,
      getPer1000: 0.001,
      retrievalPerGb: 0.01,
      minimumObjectBytes: 128 * KiB,
    },
    GLACIER_IR: {
      ...instant,
      storagePerGbMonth: 0.004,
      putPer1000: 0.02,
      getPer1000: 0.01,
      retrievalPerGb: 0.03,
      minimumObjectBytes: 128 * KiB,
    },
    // S3 Glacier Flexible Retrieval. Bulk retrievals have been free since late 2021.
    GLACIER: {
      storagePerGbMonth: 0.0036,
      putPer1000: 0.03,
      getPer1000: 0.0004,
      retrievalPerGb: 0,
      monitoringPer1000Objects: 0,
      minimumObjectBytes: 0,
      restoreTiers: {
        Expedited: { perGb: 0.03, per1000Requests: 10 },
        Standard: { perGb: 0.01, per1000Requests: 0.05 },
        Bulk: { perGb: 0, per1000Requests: 0 },
      },
    },
    DEEP_ARCHIVE: {
      storagePerGbMonth: 0.00099,
      putPer1000: 0.05,
      getPer1000: 0.0004,
      retrievalPerGb: 0,
      monitoringPer1000Objects: 0,
      minimumObjectBytes: 0,
      restoreTiers: {
        Standard: { perGb: 0.02, per1000Requests: 0.1 },
        Bulk: { perGb: 0.0025, per1000Requests: 0.025 },
      },
    },
    // Unconfirmed: no longer on the pricing page; last published us-east-1 figures.
    REDUCED_REDUNDANCY: {
      ...instant,
      storagePerGbMonth: 0.024,
      putPer1000: 0.005,
      getPer1000: 0.0004,
      retrievalPerGb: 0,
      minimumObjectBytes: 0,
    },
  },
  archiveOverhead: { archiveClassBytes: 32 * KiB, standardClassBytes: 8 * KiB },
  transferOutPerGb: 0.09,
};

/** The prices of `storageClass`; a usage error for a class the table does not know. */
export function classPrices(storageClass: string, prices = DEFAULT_PRICES): ClassPrices {
  const found = Object.hasOwn(prices.classes, storageClass)
    ? prices.classes[storageClass]
    : undefined;
  if (!found) throw new UsageError(`no prices for storage class ${storageClass}`);
  return found;
}

/**
 * Monthly storage cost of `objects` objects holding `bytes` bytes in all: the bytes at the
 * class's rate (at least the class's minimum object size per object, applied to the total), plus
 * each object's overhead in GLACIER and DEEP_ARCHIVE and the Intelligent-Tiering monitoring fee.
 */
export function storageCostPerMonth(
  bytes: number,
  objects: number,
  storageClass: string,
  prices = DEFAULT_PRICES,
): number {
  const p = classPrices(storageClass, prices);
  const billed = Math.max(bytes, objects * p.minimumObjectBytes);
  let cost = (billed / GB) * p.storagePerGbMonth;
  if (needsThaw(storageClass)) {
    const overhead = prices.archiveOverhead;
    const standardRate = classPrices("STANDARD", prices).storagePerGbMonth;
    cost += objects *
      ((overhead.archiveClassBytes / GB) * p.storagePerGbMonth +
        (overhead.standardClassBytes / GB) * standardRate);
  }
  return cost + (objects / 1000) * p.monitoringPer1000Objects;
}

/**
 * Request fees of uploading `volumes` objects as multipart uploads of `partsPerVolume` parts each
 * (an average is fine): CreateMultipartUpload, the parts and CompleteMultipartUpload, all at the
 * class's PUT rate.
 */
export function uploadRequestCost(
  volumes: number,
  partsPerVolume: number,
  storageClass: string,
  prices = DEFAULT_PRICES,
): number {
  const requests = volumes * (partsPerVolume + 2);
  return (requests / 1000) * classPrices(storageClass, prices).putPer1000;
}

/** What getting objects back costs. */
export interface RestoreCostInput {
  bytes: number;
  objects: number;
  storageClass: string;
  /** Required for classes with restore tiers; ignored for the others. */
  tier?: RetrievalTier;
  /** Days the thawed copy is kept (RestoreObject `Days`; default 1). */
  days?: number;
}

/** The cost of a restore, in parts. */
export interface RestoreCost {
  /** Per-GB retrieval fee (the tier's, or the IA / Instant Retrieval read fee). */
  retrieval: number;
  /** Restore requests plus one GET per object. */
  requests: number;
  /** Downloading the bytes to the internet. */
  transfer: number;
  /** The thawed copy, billed at the STANDARD rate for the days it is kept. */
  temporaryCopy: number;
  total: number;
}

/** A restore that costs nothing: where sums of `RestoreCost` start. */
export const NO_RESTORE_COST: Readonly<RestoreCost> = {
  retrieval: 0,
  requests: 0,
  transfer: 0,
  temporaryCopy: 0,
  total: 0,
};

/** Adds each part of `cost` to the same part of `sum`. */
export function addRestoreCost(sum: RestoreCost, cost: RestoreCost): void {
  sum.retrieval += cost.retrieval;
  sum.requests += cost.requests;
  sum.transfer += cost.transfer;
  sum.temporaryCopy += cost.temporaryCopy;
  sum.total += cost.total;
}

/**
 * The cost of restoring and downloading `objects` objects of `bytes` bytes in all: retrieval fee,
 * restore and GET requests, transfer out to the internet, and the temporary thawed copy. A usage
 * error when the class needs a tier it does not offer (Expedited for DEEP_ARCHIVE) or none given.
 */
export function restoreCost(input: RestoreCostInput, prices = DEFAULT_PRICES): RestoreCost {
  const p = classPrices(input.storageClass, prices);
  const gb = input.bytes / GB;
  const gets = (input.objects / 1000) * p.getPer1000;
  let retrieval = gb * p.retrievalPerGb;
  let requests = gets;
  let temporaryCopy = 0;
  if (needsThaw(input.storageClass)) {
    const tier = tierPrices(input.storageClass, input.tier, prices);
    retrieval = gb * tier.perGb;
    requests += (input.objects / 1000) * tier.per1000Requests;
    const standardRate = classPrices("STANDARD", prices).storagePerGbMonth;
    temporaryCopy = gb * standardRate * ((input.days ?? 1) / 30);
  }
  const transfer = gb * prices.transferOutPerGb;
  return {
    retrieval,
    requests,
    transfer,
    temporaryCopy,
    total: retrieval + requests + transfer + temporaryCopy,
  };
}

function tierPrices(
  storageClass: string,
  tier: RetrievalTier | undefined,
  prices: PriceTable,
): TierPrices {
  const offered = thawTiers(storageClass);
  const found = tier === undefined
    ? undefined
    : classPrices(storageClass, prices).restoreTiers[tier];
  if (!found) {
    throw new UsageError(
      `${storageClass} is restored with tier ${offered.join(", ")}` +
        (tier === undefined ? "; no tier given" : `, not ${tier}`),
    );
  }
  return found;
}

/**
 * The charge for deleting `bytes` of `storageClass` that have been stored `ageDays` days: the
 * storage of the days left to the class's minimum duration (lib/storage/storage_class.ts; a month
 * counted as 30 days).
 */
export function earlyDeletionCharge(
  bytes: number,
  storageClass: string,
  ageDays: number,
  prices = DEFAULT_PRICES,
): number {
  const p = classPrices(storageClass, prices);
  const daysLeft = Math.max(0, minimumStorageDays(storageClass) - Math.max(0, ageDays));
  return (bytes / GB) * p.storagePerGbMonth * (daysLeft / 30);
}
