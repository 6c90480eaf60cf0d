/**
 * The early-deletion charge S3 bills when an object is deleted before its storage class's minimum
 * storage duration (90 days GLACIER and GLACIER_IR, 180 DEEP_ARCHIVE, 30 STANDARD_IA and
 * ONEZONE_IA, lib/storage/storage_class.ts): the storage of the days left, prorated from the
 * monthly price. Prices come from the shared table in lib/pricing/.
 */
import { earlyDeletionCharge, type PriceTable } from "../pricing/prices.ts";
import { minimumStorageDays } from "../storage/storage_class.ts";

/** What deleting one object early costs. */
export interface EarlyDeletion {
  /** The class's minimum storage duration, in days. */
  minimumDays: number;
  /** Days the object has been stored (whole days, rounded down). */
  ageDays: number;
  /** Days left to the minimum. */
  daysLeft: number;
  /** The charge in US dollars. */
  charge: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The early-deletion charge for an object of `bytes` in `storageClass` stored since `storedSince`,
 * or `undefined` when there is none (old enough, a class without minimum, or a class the price
 * table does not know).
 */
export function earlyDeletion(
  bytes: number,
  storageClass: string,
  storedSince: Date,
  prices: PriceTable,
  now = new Date(),
): EarlyDeletion | undefined {
  if (!Object.hasOwn(prices.classes, storageClass)) return undefined;
  const minimumDays = minimumStorageDays(storageClass);
  const ageDays = Math.max(0, (now.getTime() - storedSince.getTime()) / DAY_MS);
  if (minimumDays <= 0 || ageDays >= minimumDays) return undefined;
  return {
    minimumDays,
    ageDays: Math.floor(ageDays),
    daysLeft: Math.ceil(minimumDays - ageDays),
    charge: earlyDeletionCharge(bytes, storageClass, ageDays, prices),
  };
}
