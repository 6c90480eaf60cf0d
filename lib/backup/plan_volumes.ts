/**
 * The backup's plan: splits the scanned files into volumes with the packing rule of
 * lib/archive/volume_packer.ts, and names each volume and its object. Files keep their scan
 * order and a volume is a run of consecutive file ids, so a plan is a handful of ranges whatever
 * the number of files.
 */
import type { PlanEntry, PlannedVolume } from "../catalog/catalog.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { objectKey, volumeName } from "../archive/layout.ts";
import { type PackedVolume, VolumePacker } from "../archive/volume_packer.ts";

/**
 * Plans the volumes of the scanned `files` (in id order); returns them without saving. Volumes
 * are numbered from `firstNumber` (an incremental continues its chain's numbering).
 */
export function planVolumes(
  files: Iterable<PlanEntry>,
  settings: BackupSettings,
  firstNumber = 1,
): PlannedVolume[] {
  const volumes: PlannedVolume[] = [];
  const packer = new VolumePacker<PlanEntry>(settings.volumeSize);
  const close = (packed: PackedVolume<PlanEntry> | undefined) => {
    if (!packed) return;
    const id = volumes.length + firstNumber;
    const name = volumeName(settings, id);
    volumes.push({
      id,
      name,
      objectKey: objectKey(settings, name),
      storageClass: settings.storageClass,
      firstFileId: packed.first.id,
      lastFileId: packed.last.id,
      plannedBytes: packed.bytes,
    });
  };
  for (const file of files) close(packer.add(file));
  close(packer.finish());
  return volumes;
}
