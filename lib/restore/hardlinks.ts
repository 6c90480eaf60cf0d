/**
 * Hardlinks in a restore. A hardlink entry names a file stored earlier in the same volume (see
 * lib/archive/volume_tar.ts), so a volume's links are restored while it is extracted: as a new
 * name of that file, once it is written in this run. When a restore wants a link but not the file
 * it names, the file's data is written under the (first wanted) link's name instead, and further
 * wanted links of that file link to it: the wanted names come back with their content, and
 * nothing unwanted is written. Links only ever point at files this run wrote (or found in place on
 * a rerun), never at anything else under the destination.
 */
import type { Catalog, FileRecord } from "../catalog/catalog.ts";
import { hardlinkRowsOfVolume } from "../catalog/restore_state.ts";
import { RESTORABLE_STATES } from "./plan.ts";
import type { Selection } from "./selection.ts";

/** Tracks, for one volume being extracted, where the files that links name were restored. */
export class VolumeHardlinks {
  /** Archive paths of the files the volume's links name. */
  readonly #targets: Set<string>;
  /** Unwanted files some wanted link names -> the archive path to write their data at. */
  readonly #substitutes: Map<string, string>;
  /** Link targets restored in this run -> the archive path they were restored at. */
  readonly #restored = new Map<string, string>();
  /** Links whose file's data was written under their own name. */
  readonly #writtenAsData = new Set<string>();

  private constructor(targets: Set<string>, substitutes: Map<string, string>) {
    this.#targets = targets;
    this.#substitutes = substitutes;
  }

  /** Reads the volume's links (and only them): what they name, and what is not wanted. */
  static forVolume(catalog: Catalog, volumeId: number, selection: Selection): VolumeHardlinks {
    const targets = new Set<string>();
    const substitutes = new Map<string, string>();
    for (const row of hardlinkRowsOfVolume(catalog, volumeId)) {
      const target = row.linkTarget;
      if (target === null || !RESTORABLE_STATES.has(row.state)) continue;
      targets.add(target);
      if (
        selection.matches(row.archivePath) && !selection.matches(target) &&
        !substitutes.has(target)
      ) {
        substitutes.set(target, row.archivePath);
      }
    }
    return new VolumeHardlinks(targets, substitutes);
  }

  /**
   * Where to write the data of the unwanted file `record`, when a wanted link needs it; the link
   * is then taken as handled (`wasWrittenAsData`).
   */
  substituteFor(record: Pick<FileRecord, "type" | "archivePath">): string | undefined {
    const link = record.type === "file" ? this.#substitutes.get(record.archivePath) : undefined;
    if (link !== undefined) this.#writtenAsData.add(link);
    return link;
  }

  /** True when the link at `archivePath` was written with its file's data (`substituteFor`). */
  wasWrittenAsData(archivePath: string): boolean {
    return this.#writtenAsData.has(archivePath);
  }

  /** Records that the file stored as `archivePath` is now in place at `restoredAt`. */
  restored(archivePath: string, restoredAt: string): void {
    // Most volumes have no links: no need to hash every path for the lookup.
    if (this.#targets.size > 0 && this.#targets.has(archivePath)) {
      this.#restored.set(archivePath, restoredAt);
    }
  }

  /** Where the file a link names was restored in this run, if it was. */
  restoredTarget(linkTarget: string): string | undefined {
    return this.#restored.get(linkTarget);
  }
}
