/**
 * The rules of S3's storage classes that the program acts on: which classes S3 accepts, which
 * must be thawed (restored) before a download and with which retrieval tiers, how long a thaw
 * takes, and the minimum storage duration S3 bills. These are the same in every region and are
 * not prices: what each class and tier costs is in lib/pricing/prices.ts.
 */
import type { RestoreTier } from "./storage.ts";

/** Storage classes S3 accepts for PutObject / CreateMultipartUpload. */
export const STORAGE_CLASSES = [
  "STANDARD",
  "REDUCED_REDUNDANCY",
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER",
  "DEEP_ARCHIVE",
  "GLACIER_IR",
] as const;

/** A storage class S3 accepts. */
export type StorageClass = typeof STORAGE_CLASSES[number];

/** How long a thaw takes, as S3 documents it. */
export interface ThawWait {
  /** Shortest typical wait, in minutes. */
  minMinutes: number;
  /** Longest typical wait, in minutes (what to plan for). */
  maxMinutes: number;
  /** E.g. `3-5 h`, `within 48 h`, `none`. */
  text: string;
}

/** The wait of a class that is readable at once. */
const NO_WAIT: ThawWait = { minMinutes: 0, maxMinutes: 0, text: "none" };

/** What the program needs to know of one class. */
interface ClassRules {
  /** Minimum storage duration: deleting earlier is billed as if stored this many days. */
  minimumDays: number;
  /** The retrieval tiers of a class that must be thawed, and their waits; empty otherwise. */
  thaw: Partial<Record<RestoreTier, ThawWait>>;
}

const RULES: Record<StorageClass, ClassRules> = {
  STANDARD: { minimumDays: 0, thaw: {} },
  REDUCED_REDUNDANCY: { minimumDays: 0, thaw: {} },
  STANDARD_IA: { minimumDays: 30, thaw: {} },
  ONEZONE_IA: { minimumDays: 30, thaw: {} },
  INTELLIGENT_TIERING: { minimumDays: 0, thaw: {} },
  // S3 Glacier Flexible Retrieval.
  GLACIER: {
    minimumDays: 90,
    thaw: {
      Expedited: { minMinutes: 1, maxMinutes: 5, text: "1-5 min" },
      Standard: { minMinutes: 180, maxMinutes: 300, text: "3-5 h" },
      Bulk: { minMinutes: 300, maxMinutes: 720, text: "5-12 h" },
    },
  },
  DEEP_ARCHIVE: {
    minimumDays: 180,
    thaw: {
      Standard: { minMinutes: 0, maxMinutes: 720, text: "within 12 h" },
      Bulk: { minMinutes: 0, maxMinutes: 2880, text: "within 48 h" },
    },
  },
  GLACIER_IR: { minimumDays: 90, thaw: {} },
};

/** Retrieval tiers, fastest (and dearest) first. */
const TIERS: readonly RestoreTier[] = ["Expedited", "Standard", "Bulk"];

/** True for a storage class S3 accepts (spelt as S3 spells it). */
export function isStorageClass(name: string): name is StorageClass {
  return Object.hasOwn(RULES, name);
}

function rulesOf(storageClass: string): ClassRules | undefined {
  return isStorageClass(storageClass) ? RULES[storageClass] : undefined;
}

/** The retrieval tiers of a class, fastest first; empty when it is readable at once (or unknown). */
export function thawTiers(storageClass: string): RestoreTier[] {
  const thaw = rulesOf(storageClass)?.thaw ?? {};
  return TIERS.filter((tier) => thaw[tier] !== undefined);
}

/** True when objects of the class must be thawed (restored) before they can be downloaded. */
export function needsThaw(storageClass: string): boolean {
  return thawTiers(storageClass).length > 0;
}

/** The class's minimum storage duration in days (0 for none, and for an unknown class). */
export function minimumStorageDays(storageClass: string): number {
  return rulesOf(storageClass)?.minimumDays ?? 0;
}

/**
 * The typical wait for a thaw of `storageClass` with `tier`: no wait (`none`) for a class that is
 * readable at once; undefined when the class must be thawed and `tier` is missing or is not one
 * of its tiers.
 */
export function thawWait(storageClass: string, tier?: RestoreTier): ThawWait | undefined {
  if (!needsThaw(storageClass)) return NO_WAIT;
  return tier === undefined ? undefined : rulesOf(storageClass)!.thaw[tier];
}
