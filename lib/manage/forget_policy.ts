/**
 * Which backups `glacier forget` keeps: a pure rule on backup ids (`YYYYMMDD_HHMMSS`, the local
 * time a backup started, so that ids sort by time and name their day and month).
 *
 * - `keepLast` N: the N newest backups.
 * - `keepDaily` N: the newest backup of each of the N newest days that have backups.
 * - `keepMonthly` N: the newest backup of each of the N newest months that have backups.
 *
 * A backup is kept when any rule keeps it (the union); every other backup is forgotten.
 */

/** How many backups each rule keeps (0 or absent: the rule keeps none). */
export interface KeepPolicy {
  keepLast?: number;
  keepDaily?: number;
  keepMonthly?: number;
}

/** Why a backup is kept: the rules that keep it. */
export type KeepReason = "last" | "daily" | "monthly";

/** The policy's verdict on a set of backups. */
export interface PolicyVerdict {
  /** Kept backup ids, newest first, each with the rules that keep it. */
  kept: { backupId: string; reasons: KeepReason[] }[];
  /** Forgotten backup ids, newest first. */
  forgotten: string[];
}

/** True when the policy keeps no backup at all, whatever the backups. */
export function keepsNothing(policy: KeepPolicy): boolean {
  return !(policy.keepLast || policy.keepDaily || policy.keepMonthly);
}

/** Applies `policy` to the backup ids (any order; duplicates count once). */
export function applyKeepPolicy(backupIds: string[], policy: KeepPolicy): PolicyVerdict {
  const newestFirst = [...new Set(backupIds)].sort().reverse();
  const reasons = new Map<string, KeepReason[]>();
  const keep = (id: string, reason: KeepReason) => {
    reasons.set(id, [...(reasons.get(id) ?? []), reason]);
  };
  for (const id of newestFirst.slice(0, policy.keepLast ?? 0)) keep(id, "last");
  for (const id of newestPerPeriod(newestFirst, 8, policy.keepDaily ?? 0)) keep(id, "daily");
  for (const id of newestPerPeriod(newestFirst, 6, policy.keepMonthly ?? 0)) keep(id, "monthly");
  return {
    kept: newestFirst.filter((id) => reasons.has(id)).map((backupId) => ({
      backupId,
      reasons: reasons.get(backupId)!,
    })),
    forgotten: newestFirst.filter((id) => !reasons.has(id)),
  };
}

/**
 * The newest id of each of the `count` newest periods, a period being the id's first
 * `periodLength` characters (8: the day `YYYYMMDD`, 6: the month `YYYYMM`).
 */
function newestPerPeriod(newestFirst: string[], periodLength: number, count: number): string[] {
  const chosen: string[] = [];
  const periods = new Set<string>();
  for (const id of newestFirst) {
    if (periods.size >= count) break;
    const period = id.slice(0, periodLength);
    if (periods.has(period)) continue;
    periods.add(period);
    chosen.push(id);
  }
  return chosen;
}
