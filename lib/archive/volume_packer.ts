/**
 * The volume packing rule, once: entries go into volumes in scan order; a volume is closed when
 * the next entry would take it past the target size; an entry never spans two volumes, and an
 * entry larger than the target gets a volume of its own (a run of folders and small files
 * before it, under 1/16 of the target, joins it rather than become a tiny volume: every Glacier
 * object is billed at least 40 KB and costs a request to thaw). A hardlink (size 0) counts its
 * TAR header only. The backup's plan and the dry-run forecast both pack with this class.
 */

/** What the rule needs of an entry. */
export interface PackableEntry {
  /** Bytes of file data (0 for folders, symlinks and hardlinks). */
  size: number;
  archivePath: string;
}

/** One closed volume: its first and last entries and its estimated TAR bytes. */
export interface PackedVolume<T> {
  first: T;
  last: T;
  bytes: number;
}

/** Bytes an entry takes in the TAR stream: header (with room for a pax header) and padded data. */
export function tarEntryEstimate(size: number, archivePath: string): number {
  // deno-lint-ignore no-control-regex
  const needsPax = archivePath.length > 100 || /[^\x00-\x7f]/.test(archivePath);
  return 512 + (needsPax ? 1024 : 0) + Math.ceil(size / 512) * 512;
}

/**
 * Packs entries fed one at a time into volumes of about `volumeSize` TAR bytes. Holds only the
 * volume being filled, never a list of entries.
 */
export class VolumePacker<T extends PackableEntry> {
  #current: PackedVolume<T> | undefined;

  constructor(readonly volumeSize: number) {}

  /** Adds the next entry; returns the volume it closed, when it starts a new one. */
  add(entry: T): PackedVolume<T> | undefined {
    const bytes = tarEntryEstimate(entry.size, entry.archivePath);
    let closed: PackedVolume<T> | undefined;
    const current = this.#current;
    if (current && current.bytes + bytes > this.volumeSize) {
      const tooSmallToClose = current.bytes < this.volumeSize / 16;
      if (!tooSmallToClose) closed = this.finish();
    }
    if (!this.#current) this.#current = { first: entry, last: entry, bytes: 0 };
    this.#current.last = entry;
    this.#current.bytes += bytes;
    return closed;
  }

  /** The volume being filled, as it stands (none before the first entry or after `finish`). */
  get current(): Readonly<PackedVolume<T>> | undefined {
    return this.#current;
  }

  /** Closes the volume being filled and returns it (none when no entry was added since). */
  finish(): PackedVolume<T> | undefined {
    const closed = this.#current;
    this.#current = undefined;
    return closed;
  }
}
