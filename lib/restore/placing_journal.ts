/**
 * The journal of small files being written in place. A file going into a folder this run made
 * (nothing of the user's can be in it) is written under its real name at once, without a part
 * file and a rename, which were a third of the cost of each small file. A run killed in the middle
 * of one leaves it half-written under its real name, so the files being written are named first,
 * in the run's journal in the staging folder: a file per batch being placed
 * (`<run>-<placer>-<n>.placing`), written before any of its files and removed once all are.
 *
 * A later run into the same folder reads the journals earlier runs left (`readLeftovers`) and
 * replaces such a file when it restores the same path and the file is still as a killed run left
 * it (`isHalfWritten`): a regular file whose size or mtime are not yet those it was to get (the
 * mtime is set last), last written within a minute of being named. Anything else there (a file the
 * user wrote since, say) is left alone as usual. A run that finishes keeps, in its own journal,
 * the entries still half-written (`stillHalfWritten`), which another run into the folder may not
 * restore.
 *
 * A journal is input from a stranger as much as the folder is: only the runner's own journals are
 * read, each up to `MAX_JOURNAL_BYTES`, at most `MAX_LEFTOVERS` entries in all; a path must stay
 * under the folder (`decodeJournal`), and is only ever compared with the path of an entry being
 * restored, or looked at (lstat) by `stillHalfWritten`.
 */
import { join, sep } from "node:path";
import { hasPlainNames } from "./entry_names.ts";

/** Name ending of a journal in the staging folder. */
export const JOURNAL_SUFFIX = ".placing";
/** A journal larger than this is not one a run wrote (a batch of 256 paths). */
export const MAX_JOURNAL_BYTES = 16 << 20;
/** Entries of left journals kept at most (a killed run leaves a few batches of 256). */
export const MAX_LEFTOVERS = 1 << 16;
/**
 * How long after being named a file of a killed run may have been written last: a batch is
 * written within milliseconds; a file touched later than this is someone else's work.
 */
export const WRITE_WINDOW_MS = 60_000;
/** Coarse file system clocks (FAT's two seconds) may date a write before it was named. */
const CLOCK_SLACK_MS = 2_000;

/** A file named in a journal: the size and mtime (seconds) it is to get, and when it was named. */
export interface JournalEntry {
  /** The entry's path, relative to the destination, with `/` between names. */
  path: string;
  size: number;
  mtime: number;
  /** When the file was named (ms since the epoch). */
  since: number;
}

/**
 * Writes the journal of one placer: a file for each batch being placed, which names its files
 * before any is written, and is removed once they are all placed.
 */
export class PlacingJournal {
  readonly #base: string;
  readonly #rootPrefix: string;
  /** Numbers of the files naming batches not yet placed. */
  readonly #held = new Set<number>();

  /** A journal for files under `root`, written to `<base>-<n>.placing` files. */
  constructor(base: string, root: string) {
    this.#base = base;
    this.#rootPrefix = root.endsWith(sep) ? root : `${root}${sep}`;
  }

  /** The path under the root of `full`, with `/` between names (as entry paths have). */
  relative(full: string): string {
    if (!full.startsWith(this.#rootPrefix)) throw new Error(`${full} is not under the root`);
    const relative = full.slice(this.#rootPrefix.length);
    return sep === "/" ? relative : relative.split(sep).join("/");
  }

  /**
   * Names a batch's files (`entries`), before any of them is written; returns the number to
   * `release` it by once they are all placed.
   */
  record(entries: JournalEntry[]): number {
    let slot = 0;
    while (this.#held.has(slot)) slot++;
    Deno.writeFileSync(this.#file(slot), encodeJournal(entries));
    this.#held.add(slot);
    return slot;
  }

  /**
   * Removes the file naming a batch whose files are all placed (if it cannot be, it names
   * complete files only, which a later run leaves alone).
   */
  release(slot: number): void {
    if (!this.#held.delete(slot)) return;
    try {
      Deno.removeSync(this.#file(slot));
    } catch {
      // Left in place: harmless, see above.
    }
  }

  #file(slot: number): string {
    return `${this.#base}-${slot}${JOURNAL_SUFFIX}`;
  }
}

/** The journal's bytes: per entry its path, size, mtime and time named, each ended by a NUL. */
export function encodeJournal(entries: JournalEntry[]): Uint8Array {
  let text = "";
  for (const e of entries) text += `${e.path}\0${e.size}\0${e.mtime}\0${e.since}\0`;
  return new TextEncoder().encode(text);
}

/** The entries of a journal's bytes; malformed ones (a forged or torn journal) are skipped. */
export function decodeJournal(bytes: Uint8Array, limit = MAX_LEFTOVERS): JournalEntry[] {
  const fields = new TextDecoder().decode(bytes).split("\0");
  const entries: JournalEntry[] = [];
  for (let i = 0; i + 3 < fields.length && entries.length < limit; i += 4) {
    const [path, size, mtime, since] = [
      fields[i],
      Number(fields[i + 1]),
      Number(fields[i + 2]),
      Number(fields[i + 3]),
    ];
    if (
      isRelativePath(path) && Number.isSafeInteger(size) && size >= 0 &&
      Number.isSafeInteger(mtime) && Number.isSafeInteger(since)
    ) {
      entries.push({ path, size, mtime, since });
    }
  }
  return entries;
}

/**
 * Whether `path` is relative and stays under its root: no empty, `.` or `..` name, and on
 * Windows no `\\` or drive in a name (a forged journal's path is never joined as it is).
 */
function isRelativePath(path: string): boolean {
  return hasPlainNames(path) && (sep === "/" || !/[\\:]/.test(path));
}

/**
 * The entries of the journals earlier runs left in `staging`, by path: only files
 * of this user (where the system has owners), each read up to `MAX_JOURNAL_BYTES`.
 */
export function readLeftovers(staging: string): Map<string, JournalEntry> {
  const leftovers = new Map<string, JournalEntry>();
  const uid = Deno.uid();
  let names: string[];
  try {
    names = [...Deno.readDirSync(staging)]
      .filter((e) => e.isFile && e.name.endsWith(JOURNAL_SUFFIX))
      .map((e) => e.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return leftovers;
    throw error;
  }
  for (const name of names.sort()) {
    const file = join(staging, name);
    const info = Deno.lstatSync(file);
    if (!info.isFile || info.size > MAX_JOURNAL_BYTES || (uid !== null && info.uid !== uid)) {
      continue;
    }
    for (const entry of decodeJournal(Deno.readFileSync(file), MAX_LEFTOVERS - leftovers.size)) {
      leftovers.set(entry.path, entry);
    }
    if (leftovers.size >= MAX_LEFTOVERS) break;
  }
  return leftovers;
}

/**
 * Whether `info` (lstat of the entry's path) is the file a killed run was writing: a regular
 * file without the size or mtime it was to get, last written within `WRITE_WINDOW_MS` of being
 * named.
 */
export function isHalfWritten(info: Deno.FileInfo, entry: JournalEntry): boolean {
  if (!info.isFile || info.mtime === null) return false;
  const written = info.mtime.getTime();
  if (info.size === entry.size && Math.floor(written / 1000) === entry.mtime) return false;
  return written >= entry.since - CLOCK_SLACK_MS && written <= entry.since + WRITE_WINDOW_MS;
}

/** The leftover entries whose file under `root` is still half-written. */
export function stillHalfWritten(
  root: string,
  leftovers: Map<string, JournalEntry>,
): JournalEntry[] {
  const left: JournalEntry[] = [];
  for (const entry of leftovers.values()) {
    try {
      if (isHalfWritten(Deno.lstatSync(join(root, ...entry.path.split("/"))), entry)) {
        left.push(entry);
      }
    } catch {
      // Gone, or not reachable as a file: nothing to finish.
    }
  }
  return left;
}
