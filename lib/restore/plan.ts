/**
 * Works out from the catalog what a restore can bring back: the wanted entries that are in the
 * backup (state `stored` or `changed`, in an uploaded volume), the volumes holding them, and the
 * wanted entries that cannot be restored, with why. Reads the file list once, lazily.
 */
import type { Catalog, FileState, VolumeRecord } from "../catalog/catalog.ts";
import { type PlannedFileRow, plannedFileRows } from "../catalog/restore_state.ts";
import type { Selection } from "./selection.ts";

/** How many unrestorable entries a plan keeps by name (the rest are only counted). */
export const LISTED_UNRESTORABLE = 50;

/** One volume a restore needs, with what it wants from it. */
export interface VolumePlan {
  volume: VolumeRecord;
  /** Wanted entries in the volume. */
  entries: number;
  /** Bytes of wanted file contents in the volume. */
  bytes: number;
}

/** What a restore of a selection needs. */
export interface RestorePlan {
  /** Volumes holding wanted entries, in id order. */
  volumes: VolumePlan[];
  /** Wanted, restorable entries (files, folders, symlinks) and their content bytes. */
  entries: number;
  bytes: number;
  /** Wanted entries that cannot be restored: a count and the first few, with the reason. */
  unrestorable: { count: number; examples: { path: string; reason: string }[] };
}

/** File states whose content is in a volume. */
export const RESTORABLE_STATES: ReadonlySet<FileState> = new Set(["stored", "changed"]);

/** Plans the restore of the entries `selection` wants. */
export function planRestore(catalog: Catalog, selection: Selection): RestorePlan {
  const volumes = new Map(catalog.volumes().map((v) => [v.id, v]));
  const byVolume = new Map<number, VolumePlan>();
  const plan: RestorePlan = {
    volumes: [],
    entries: 0,
    bytes: 0,
    unrestorable: { count: 0, examples: [] },
  };
  for (const row of plannedFileRows(catalog)) {
    if (!selection.matches(row.archivePath)) continue;
    const reason = unrestorableReason(row);
    if (reason !== undefined) {
      plan.unrestorable.count++;
      if (plan.unrestorable.examples.length < LISTED_UNRESTORABLE) {
        plan.unrestorable.examples.push({ path: row.archivePath, reason });
      }
      continue;
    }
    const volumeId = row.volumeId!;
    let entry = byVolume.get(volumeId);
    if (!entry) {
      entry = { volume: volumes.get(volumeId)!, entries: 0, bytes: 0 };
      byVolume.set(volumeId, entry);
    }
    const bytes = row.type === "file" ? row.size : 0;
    entry.entries++;
    entry.bytes += bytes;
    plan.entries++;
    plan.bytes += bytes;
  }
  plan.volumes = [...byVolume.values()].sort((a, b) => a.volume.id - b.volume.id);
  return plan;
}

/** Why a wanted entry cannot be restored, or `undefined` when it can. */
export function unrestorableReason(row: PlannedFileRow): string | undefined {
  switch (row.state) {
    case "vanished":
      return "it vanished before the backup read it";
    case "unreadable":
      return "the backup could not read it";
    case "missing":
      return "its volume is missing from the bucket";
    case "deleted":
      return "it was deleted from the backup";
    case "pending":
      return "the backup did not finish storing it (resume the backup)";
  }
  if (row.volumeId === null || row.volumeState !== "uploaded") {
    return row.volumeState === "missing" || row.volumeState === "deleted"
      ? `its volume is ${row.volumeState}`
      : "its volume was never uploaded (resume the backup)";
  }
  return undefined;
}
