/**
 * Compares a backup's volumes with the objects listed under its folder in the bucket, one object
 * at a time (the listing is never held in memory), and says what differs. It decides; the caller
 * updates the catalog and reports.
 */
import { isCatalogCopyName } from "../archive/layout.ts";
import type { VolumeRecord } from "../catalog/catalog.ts";
import type { ObjectInfo } from "../storage/storage.ts";

/** One difference between the catalog and the bucket. */
export type Finding =
  /** An uploaded volume that is not in the bucket: to be marked missing. */
  | { kind: "gone"; volume: VolumeRecord }
  /** A volume already marked missing that is still not in the bucket. */
  | { kind: "still-missing"; volume: VolumeRecord }
  /** A volume marked missing that is in the bucket again, with the right size: uploaded again. */
  | { kind: "back"; volume: VolumeRecord }
  /** A volume whose object has another size than the catalog records. */
  | { kind: "size-mismatch"; volume: VolumeRecord; remoteSize: number }
  /** A volume deleted in the catalog whose object is still in the bucket. */
  | { kind: "deleted-but-present"; volume: VolumeRecord; remoteSize: number }
  /** An object under the backup's folder that the catalog does not know. */
  | { kind: "unknown"; key: string; size: number };

/** Feed it every listed object (`see`), then ask for the volumes never seen (`finish`). */
export class BucketReconciler {
  readonly #byKey = new Map<string, VolumeRecord>();
  readonly #seen = new Set<number>();
  readonly #folderKey: string;
  /** Volumes whose object was listed with the size the catalog expects. */
  matched = 0;

  /** `folderKey` is the backup's folder, `[PREFIX/]BACKUP_ID/`. */
  constructor(volumes: Iterable<VolumeRecord>, folderKey: string) {
    for (const volume of volumes) this.#byKey.set(volume.objectKey, volume);
    this.#folderKey = folderKey;
  }

  /** What one listed object means, or `undefined` when it is as expected. */
  see(object: ObjectInfo): Finding | undefined {
    const volume = this.#byKey.get(object.key);
    if (!volume) {
      const name = object.key.slice(this.#folderKey.length);
      if (object.key.startsWith(this.#folderKey) && isCatalogCopyName(name)) {
        return undefined;
      }
      return { kind: "unknown", key: object.key, size: object.size };
    }
    this.#seen.add(volume.id);
    switch (volume.state) {
      case "planned":
      case "built":
        // A backup still running (or to be resumed) owns these; sync leaves them alone.
        return undefined;
      case "deleted":
        return { kind: "deleted-but-present", volume, remoteSize: object.size };
      case "uploaded":
      case "missing":
        if (volume.size !== null && volume.size !== object.size) {
          return { kind: "size-mismatch", volume, remoteSize: object.size };
        }
        this.matched++;
        return volume.state === "missing" ? { kind: "back", volume } : undefined;
    }
  }

  /** The uploaded or missing volumes that the listing did not contain, in volume order. */
  finish(): Finding[] {
    const findings: Finding[] = [];
    const volumes = [...this.#byKey.values()].sort((a, b) => a.id - b.id);
    for (const volume of volumes) {
      if (this.#seen.has(volume.id)) continue;
      if (volume.state === "uploaded") findings.push({ kind: "gone", volume });
      if (volume.state === "missing") findings.push({ kind: "still-missing", volume });
    }
    return findings;
  }
}
