/**
 * What thawing and downloading the volumes of a restore costs and how long it takes, from the
 * price table in lib/pricing/prices.ts and the class rules in lib/storage/storage_class.ts, as
 * lines to show before anything is requested.
 */
import { formatBytes } from "../archive/units.ts";
import { UsageError } from "../archive/errors.ts";
import { formatDollars } from "../pricing/money.ts";
import { DEFAULT_PRICES, type PriceTable, restoreCost } from "../pricing/prices.ts";
import type { RestoreTier } from "../storage/storage.ts";
import { thawTiers, thawWait } from "../storage/storage_class.ts";

/** A volume to be thawed, as the bucket reports it. */
export interface ThawItem {
  storageClass: string;
  size: number;
}

/** The estimate of a set of thaw requests. */
export interface ThawEstimate {
  volumes: number;
  bytes: number;
  /** Dollar amounts, summed over the storage classes. */
  retrieval: number;
  requests: number;
  transfer: number;
  temporaryCopy: number;
  total: number;
  /** Classes whose prices are unknown (left out of the sums). */
  unpriced: string[];
  /** The longest expected wait, as text (`within 12 h`, `3-5 h`, ...). */
  wait: string;
  /** One line per storage class: volumes, size, class. */
  classes: string[];
}

/** Throws a UsageError when a class among `classes` does not offer `tier`. */
export function checkTier(classes: Iterable<string>, tier: RestoreTier): void {
  for (const storageClass of new Set(classes)) {
    const offered = thawTiers(storageClass);
    if (offered.length > 0 && !offered.includes(tier)) {
      throw new UsageError(
        `--tier ${tier.toLowerCase()} is not offered for ${storageClass}: use ` +
          offered.map((t) => t.toLowerCase()).join(" or "),
      );
    }
  }
}

/** Prices the thaw (and download) of `items` with `tier`, the copies kept `days` days. */
export function estimateThaw(
  items: ThawItem[],
  tier: RestoreTier,
  days: number,
  prices: PriceTable = DEFAULT_PRICES,
): ThawEstimate {
  const byClass = new Map<string, { volumes: number; bytes: number }>();
  for (const item of items) {
    const entry = byClass.get(item.storageClass) ?? { volumes: 0, bytes: 0 };
    entry.volumes++;
    entry.bytes += item.size;
    byClass.set(item.storageClass, entry);
  }
  const estimate: ThawEstimate = {
    volumes: items.length,
    bytes: items.reduce((sum, item) => sum + item.size, 0),
    retrieval: 0,
    requests: 0,
    transfer: 0,
    temporaryCopy: 0,
    total: 0,
    unpriced: [],
    wait: "none",
    classes: [],
  };
  let longest = -1;
  for (const [storageClass, { volumes, bytes }] of byClass) {
    estimate.classes.push(
      `${volumes} volume${volumes === 1 ? "" : "s"}, ${formatBytes(bytes)} in ${storageClass}`,
    );
    try {
      const cost = restoreCost({ bytes, objects: volumes, storageClass, tier, days }, prices);
      estimate.retrieval += cost.retrieval;
      estimate.requests += cost.requests;
      estimate.transfer += cost.transfer;
      estimate.temporaryCopy += cost.temporaryCopy;
      estimate.total += cost.total;
      const wait = thawWait(storageClass, tier);
      if (wait && wait.maxMinutes > longest) {
        longest = wait.maxMinutes;
        estimate.wait = wait.text;
      }
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      estimate.unpriced.push(storageClass);
    }
  }
  return estimate;
}

/** The estimate as lines for the user. */
export function describeEstimate(
  estimate: ThawEstimate,
  tier: RestoreTier,
  days: number,
  prices: PriceTable = DEFAULT_PRICES,
): string[] {
  const lines = [
    `to thaw: ${estimate.classes.join("; ")}; tier ${tier}, thawed copies kept ${days} day` +
    (days === 1 ? "" : "s"),
    `estimated cost (${prices.source}): retrieval ` +
    `${formatDollars(estimate.retrieval)}, requests ${formatDollars(estimate.requests)}, ` +
    `transfer out ${formatDollars(estimate.transfer)}, thawed copies ` +
    `${formatDollars(estimate.temporaryCopy)}; total ${formatDollars(estimate.total)}`,
    `expected wait: ${estimate.wait}`,
  ];
  if (estimate.unpriced.length > 0) {
    lines.push(`no prices known for ${estimate.unpriced.join(", ")}: not included above`);
  }
  return lines;
}
