/**
 * The backup's plan: splits the scanned files into volumes with the packing rule of
 * lib/archive/volume_packer.ts, and names each volume and its object. Files keep their scan
 * order and a volume is a run of consecutive file ids, so a plan is a handful of ranges whatever
 * the number of files. The scan plans as it goes (`VolumePlanner`): each file is recorded with
 * its volume, never updated afterwards.
 */
import type { PlanEntry, PlannedVolume } from "../catalog/catalog.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { objectKey, volumeName } from "../archive/layout.ts";
import { VolumePacker } from "../archive/volume_packer.ts";

/**
 * Places files, fed in id order, into volumes numbered from `firstNumber` (an incremental
 * continues its chain's numbering). Holds the volumes planned so far (a few thousand at most),
 * never the files.
 */
export class VolumePlanner {
  readonly #settings: BackupSettings;
  readonly #firstNumber: number;
  readonly #packer: VolumePacker<PlanEntry>;
  readonly #closed: PlannedVolume[] = [];
  #changedFrom = 0;

  constructor(settings: BackupSettings, firstNumber = 1) {
    this.#settings = settings;
    this.#firstNumber = firstNumber;
    this.#packer = new VolumePacker<PlanEntry>(settings.volumeSize);
  }

  /** Adds the next file; returns the id of the volume that holds it. */
  place(file: PlanEntry): number {
    const closed = this.#packer.add(file);
    if (closed) this.#closed.push(this.#volume(closed.first.id, closed.last.id, closed.bytes));
    return this.#firstNumber + this.#closed.length;
  }

  /**
   * The volumes planned or grown since the last call (the volume still being filled as it
   * stands now), so that they can be recorded with the files placed in them.
   */
  changed(): PlannedVolume[] {
    const changed = this.#closed.slice(this.#changedFrom);
    this.#changedFrom = this.#closed.length;
    const open = this.#packer.current;
    // The volume being filled is given out each time: it grows with every file.
    if (open) changed.push(this.#volume(open.first.id, open.last.id, open.bytes));
    return changed;
  }

  /** Closes the last volume; returns every volume planned, in order. */
  finish(): PlannedVolume[] {
    const last = this.#packer.finish();
    if (last) this.#closed.push(this.#volume(last.first.id, last.last.id, last.bytes));
    return this.#closed;
  }

  #volume(firstFileId: number, lastFileId: number, plannedBytes: number): PlannedVolume {
    const id = this.#firstNumber + this.#closed.length;
    const name = volumeName(this.#settings, id);
    return {
      id,
      name,
      objectKey: objectKey(this.#settings, name),
      storageClass: this.#settings.storageClass,
      firstFileId,
      lastFileId,
      plannedBytes,
    };
  }
}

/**
 * Plans the volumes of the scanned `files` (in id order) at once; returns them without saving.
 * Volumes are numbered from `firstNumber`.
 */
export function planVolumes(
  files: Iterable<PlanEntry>,
  settings: BackupSettings,
  firstNumber = 1,
): PlannedVolume[] {
  const planner = new VolumePlanner(settings, firstNumber);
  for (const file of files) planner.place(file);
  return planner.finish();
}
