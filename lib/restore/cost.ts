/**
 * What thawing and downloading the volumes of a restore costs and how long it takes, from the
 * price table in lib/pricing/prices.ts and the class rules in lib/storage/storage_class.ts, as
 * lines to show before anything is requested.
 */
import { formatBytes } from "../archive/units.ts";
import { UsageError } from "../archive/errors.ts";
import { formatDollars } from "../pricing/money.ts";
import { totalsByClass } from "../pricing/class_totals.ts";
import {
  addRestoreCost,
  DEFAULT_PRICES,
  NO_RESTORE_COST,
  type PriceTable,
  type RestoreCost,
  restoreCost,
} from "../pricing/prices.ts";
import type { RestoreTier } from "../storage/storage.ts";
import { thawTiers, thawWait } from "../storage/storage_class.ts";

/** A volume to be thawed, as the bucket reports it. */
export interface ThawItem {
  storageClass: string;
  size: number;
}

/** The estimate of a set of thaw requests; its costs are summed over the priced storage classes. */
export interface ThawEstimate extends RestoreCost {
  volumes: number;
  bytes: number;
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
  const estimate: ThawEstimate = {
    volumes: items.length,
    bytes: items.reduce((sum, item) => sum + item.size, 0),
    ...NO_RESTORE_COST,
    unpriced: [],
    wait: "none",
    classes: [],
  };
  let longest = -1;
  for (const { storageClass, volumes, bytes } of totalsByClass(items, (item) => item.size)) {
    estimate.classes.push(
      `${volumes} volume${volumes === 1 ? "" : "s"}, ${formatBytes(bytes)} in ${storageClass}`,
    );
    try {
      const cost = restoreCost({ bytes, objects: volumes, storageClass, tier, days }, prices);
      addRestoreCost(estimate, cost);
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
