/**
 * Pairs the entries of a volume's TAR stream with the catalog rows of that volume. A volume
 * starts with the folders above its first entry, repeated from earlier volumes (see
 * lib/archive/volume_tar.ts): those are recognized as the prelude and belong to no row here, so
 * they are never counted twice. After the prelude the entries follow the rows in id order, less
 * the rows the backup left out (vanished or unreadable when the volume was built). Anything else
 * means the volume and the catalog disagree, and the volume is refused.
 */
import type { Catalog } from "../catalog/catalog.ts";
import { type VolumeEntryRow, volumeEntryRows } from "../catalog/restore_state.ts";
import type { TarReadEntry } from "../archive/tar_reader.ts";
import { isDeletedPathsEntry } from "../archive/layout.ts";

/** The volume's content does not match what the catalog says it holds. */
export class VolumeMismatchError extends Error {
  override name = "VolumeMismatchError";
}

/** What a TAR entry is. */
export type EntryMatch = { kind: "prelude" } | { kind: "own"; record: VolumeEntryRow };

/** Row states the backup left out of the volume it was planned for. */
const LEFT_OUT = new Set(["vanished", "unreadable"]);

/** Walks a volume's catalog rows alongside its TAR entries. */
export class VolumeEntryMatcher {
  readonly #catalog: Catalog;
  readonly #volumeName: string;
  /** The volume's rows in id order, read a page at a time. */
  readonly #rows: Iterator<VolumeEntryRow>;
  /** The row `#peek` looked at and not yet passed (`#pass`), if any. */
  #current: IteratorResult<VolumeEntryRow> | undefined;
  #prelude: Set<string> | undefined;
  #ownSeen = false;
  #first = true;
  /** The volume is an earlier backup's: it holds entries this snapshot has replaced or dropped. */
  readonly #partial: boolean;

  /**
   * `partial`: the volume is held by an earlier backup of an incremental's chain, so its entries
   * this snapshot does not use (changed or deleted since) are passed over; the ones it uses still
   * come in catalog order, and one missing is still found.
   */
  constructor(catalog: Catalog, volumeId: number, volumeName: string, partial = false) {
    this.#catalog = catalog;
    this.#partial = partial;
    this.#rows = volumeEntryRows(catalog, volumeId);
    this.#volumeName = volumeName;
  }

  /** Classifies the next entry of the stream; throws `VolumeMismatchError` on a disagreement. */
  next(entry: TarReadEntry): EntryMatch {
    const first = this.#first;
    this.#first = false;
    // An incremental's first volume starts with its list of paths deleted since its base.
    if (first && entry.type === "file" && isDeletedPathsEntry(entry.path)) {
      return { kind: "prelude" };
    }
    if (!this.#ownSeen && entry.type === "directory" && this.#preludePaths().has(entry.path)) {
      return { kind: "prelude" };
    }
    for (;;) {
      const row = this.#peek();
      if (this.#partial && row?.archivePath !== entry.path) return { kind: "prelude" };
      if (!row) throw this.#mismatch(`it holds ${JSON.stringify(entry.path)}, not in the catalog`);
      if (row.archivePath === entry.path) {
        if (row.type !== entry.type) {
          throw this.#mismatch(
            `${JSON.stringify(entry.path)} is a ${entry.type} in the volume, a ${row.type} in ` +
              `the catalog`,
          );
        }
        this.#pass();
        this.#ownSeen = true;
        return { kind: "own", record: row };
      }
      if (!LEFT_OUT.has(row.state)) {
        throw this.#mismatch(
          `found ${JSON.stringify(entry.path)} where ${JSON.stringify(row.archivePath)} belongs`,
        );
      }
      this.#pass();
    }
  }

  /** The rows after the last matched entry that the volume should have held (for after its end). */
  *unmatched(): Generator<VolumeEntryRow> {
    for (let row = this.#peek(); row; row = this.#peek()) {
      this.#pass();
      if (!LEFT_OUT.has(row.state)) yield row;
    }
  }

  #preludePaths(): Set<string> {
    if (!this.#prelude) {
      const first = this.#peek();
      this.#prelude = new Set(
        first ? this.#catalog.ancestorFolders(first.path).map((f) => f.archivePath) : [],
      );
    }
    return this.#prelude;
  }

  /** The next row not passed yet; undefined after the last. */
  #peek(): VolumeEntryRow | undefined {
    this.#current ??= this.#rows.next();
    return this.#current.done ? undefined : this.#current.value;
  }

  /** Moves past the row `#peek` returned. */
  #pass(): void {
    this.#current = undefined;
  }

  #mismatch(detail: string): VolumeMismatchError {
    return new VolumeMismatchError(
      `volume ${this.#volumeName} does not match the catalog: ${detail}`,
    );
  }
}
