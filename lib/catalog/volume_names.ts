/**
 * Checks of the volume names and object keys a catalog holds. A catalog can come from the bucket
 * (its copy there can be forged) or be edited by hand, and a volume name is joined into local
 * paths (restore's staging folder, decrypt's folder, the work folder of resume): a name like
 * `../../X` would reach outside them. So every name must be one the program makes
 * (lib/archive/layout.ts): `NNNNNN_NAME[.zst|.gz][.age]`, NAME being OUTPUT_TAR's base name
 * (`backup.tar` by default), at the key `[PREFIX/]BACKUP_ID/NAME`. A volume held by an earlier
 * backup of an incremental's chain is at `[PREFIX/]ID/NAME` for an ID of the catalog's chain
 * only, and keeps the name that backup gave it (its own base name and compression).
 */
import { objectKey, volumeName, volumeNameProblem } from "../archive/layout.ts";
import type { BackupSettings } from "./settings.ts";

/** A volume as far as its naming goes. */
export interface NamedVolume {
  id: number;
  name: string;
  objectKey: string;
  /** The earlier backup of the chain holding it (null or absent: this backup's own). */
  backupId?: string | null;
}

/**
 * Why the catalog's volumes are not named as this backup names them, or undefined when they all
 * are: each name must be a safe volume name, the very one the settings give for its number, and
 * its object key must be `[PREFIX/]BACKUP_ID/NAME`. The message names the first bad volume.
 */
export function volumeNamingProblem(
  settings: Pick<BackupSettings, "compression" | "encrypt" | "baseName" | "prefix" | "backupId">,
  volumes: NamedVolume[],
  chain: { backupId: string }[] = [],
): string | undefined {
  const earlier = new Set(
    chain.map((link) => link.backupId).filter((id) => id !== settings.backupId),
  );
  for (const volume of volumes) {
    const show = JSON.stringify(volume.name);
    const unsafe = volumeNameProblem(volume.name);
    if (unsafe) return `has a volume named ${show}, which is refused: ${unsafe}`;
    if (volume.backupId !== undefined && volume.backupId !== null) {
      const problem = chainVolumeProblem(settings, volume, earlier);
      if (problem) return problem;
      continue;
    }
    const expected = volumeName(settings, volume.id);
    if (volume.name !== expected) {
      return `has a volume named ${show} where volume ${volume.id} is ` +
        `${JSON.stringify(expected)}: refused`;
    }
    const key = objectKey(settings, volume.name);
    if (volume.objectKey !== key) {
      return `has volume ${show} at the object key ${JSON.stringify(volume.objectKey)}, not ` +
        `${JSON.stringify(key)}: refused`;
    }
  }
  return undefined;
}

/** Why a volume held by an earlier backup of the chain is misnamed, or undefined when it is not. */
function chainVolumeProblem(
  settings: Pick<BackupSettings, "prefix">,
  volume: NamedVolume,
  earlier: Set<string>,
): string | undefined {
  const show = JSON.stringify(volume.name);
  const backupId = volume.backupId!;
  if (!earlier.has(backupId)) {
    return `has volume ${show} of backup ${JSON.stringify(backupId)}, which is not an earlier ` +
      `backup of its chain: refused`;
  }
  if (Number(/^\d+/.exec(volume.name)![0]) !== volume.id) {
    return `has a volume named ${show} where volume ${volume.id} is numbered otherwise: refused`;
  }
  const key = objectKey({ prefix: settings.prefix, backupId }, volume.name);
  if (volume.objectKey !== key) {
    return `has volume ${show} at the object key ${JSON.stringify(volume.objectKey)}, not ` +
      `${JSON.stringify(key)}: refused`;
  }
  return undefined;
}
