/**
 * Produces the TAR stream of one volume from its file records (the catalog's rows, paged by the
 * caller). Each entry is looked at again when it is packed (the scan may be hours old): a file
 * that is gone is left out, one that cannot be read is left out, and one whose size or mtime moves while it is read is kept but marked
 * `changed`. Output comes in large batches (file data is read straight into them), which is what
 * keeps the stages after it fast.
 *
 * A volume starts with the folders above its first entry, repeated from earlier volumes: each
 * volume then extracts on its own with the right folder modes, and when volumes are extracted
 * one after another, `tar` sets a shared folder's mtime again after adding the later files.
 *
 * A hardlink is stored as a TAR hardlink (type '1', no data) to the first name of its file packed
 * in the same volume, so that each volume extracts on its own, by `tar -x` too. When no name of
 * its file was packed earlier in this volume (the first name is in an earlier volume, or vanished,
 * or the file changed), it is stored as a full copy instead and its catalog row becomes a `file`;
 * a later name of the same file in this volume then links to that copy.
 */
import { createHash, type Hash } from "node:crypto";
import {
  encodeTarHeader,
  TAR_END_OF_ARCHIVE,
  type TarEntry,
  tarPaddingLength,
} from "./tar_header.ts";
import { type ModeEntryType, storedMode } from "./file_mode.ts";
import { folderOf, SealedFolders } from "./sealed_folders.ts";
import { fileIdOf, sameInode } from "../storage/same_inode.ts";

/** Size of the buffers the TAR stream is emitted in. */
export const TAR_BATCH_BYTES = 1 << 20;

/**
 * How many content hashes `volumeTar` gathers before handing them to `onHashes`: a volume of
 * tiny files holds millions of files, and their hashes (~150 bytes each in memory) held to the
 * end grew a 1,000,000-file backup's peak RSS to 483 MiB.
 */
export const HASH_BATCH = 4096;

/**
 * A file, folder, symlink or hardlink to pack, as the scan recorded it (a catalog row). A
 * `hardlink` is a later name of a file, whose first name is `linkTarget`.
 */
export interface PackRecord {
  id: number;
  /** Where it is on disk. */
  path: string;
  /** Its name in the TAR stream. */
  archivePath: string;
  type: "file" | "directory" | "symlink" | "hardlink";
  size: number;
  mtimeMs: number;
  mode: number;
  linkTarget: string | null;
  /** `dev:ino` as the scan saw it (absent or null where unknown): see `Packer`'s quick path. */
  fileId?: string | null;
}

/** What packing found of a file: left out (vanished, unreadable), stored, or changed while read. */
export type PackedState = "stored" | "changed" | "vanished" | "unreadable";

/**
 * How packing went for a file whose outcome differs from a plain "stored as scanned". When
 * `type` is given, the file is now of that type with that `linkTarget` (none for a hardlink
 * stored as a full copy, type `file`).
 */
export interface PackedFileUpdate {
  id: number;
  state: PackedState;
  size: number;
  mtimeMs: number;
  type?: "file" | "hardlink";
  linkTarget?: string;
}

/** The SHA-256 (hex) of the bytes stored for a regular file, computed as they were packed. */
export interface PackedFileHash {
  id: number;
  sha256: string;
}

/** The TAR stream of a volume plus, once it has ended, what happened to its files. */
export interface VolumeTar {
  stream: ReadableStream<Uint8Array>;
  /** Files not stored exactly as scanned (vanished, unreadable, changed, or newer than the scan). */
  updates: PackedFileUpdate[];
  /**
   * The content hash of each regular file whose bytes were stored (known once it has ended), but
   * for those already handed to `VolumeRecords.onHashes`.
   */
  hashes: PackedFileHash[];
  /** Entries and content bytes written so far. */
  totals: { entries: number; bytes: number };
}

/** A file made in memory, packed before everything else (an incremental's deleted-paths list). */
export interface MemoryEntry {
  archivePath: string;
  bytes: Uint8Array;
  mtimeMs: number;
}

/** What a volume packs, in order. */
export interface VolumeRecords {
  /** Entries written first, from memory. */
  preamble?: MemoryEntry[];
  /** The recorded folders above the first file, outermost first (repeated from earlier volumes). */
  ancestors: Iterable<PackRecord>;
  /**
   * The volume's own files, folders and links, in catalog (id) order: one at a time (the
   * catalog's pages), or, when they come from elsewhere (another thread), a page at a time, so
   * that waiting for them costs a promise per page, not per file.
   */
  files: Iterable<PackRecord> | AsyncIterable<readonly PackRecord[]>;
  /**
   * Takes the content hashes as they are made, `HASH_BATCH` at a time, so that they are never
   * all held; without it (or for the last, smaller batch) they stay in `VolumeTar.hashes`.
   */
  onHashes?: (hashes: PackedFileHash[]) => void;
}

/** Streams the TAR data of a volume: its ancestor folders, then its files, read from disk. */
export function volumeTar(records: VolumeRecords): VolumeTar {
  const results: PackResults = { updates: [], hashes: [], totals: { entries: 0, bytes: 0 } };
  const out = new BatchWriter();
  const packer = new Packer(out, new PackedLinks());
  const { hashes } = results;
  const { onHashes } = records;
  // Packing ancestors finds out nothing worth keeping: what it finds goes here and is dropped.
  const ancestorResults = (): PackResults => ({
    updates: [],
    hashes: [],
    totals: { entries: 0, bytes: 0 },
  });
  // Entries are packed without a generator step or a promise of their own: either costs about
  // as much as packing a tiny file. Only a large file, or a filled batch, makes something to yield.
  function pack(file: PackRecord, into: PackResults): Iterable<Uint8Array> | undefined {
    const rest = packer.pack(file, into);
    if (onHashes && hashes.length >= HASH_BATCH) onHashes(hashes.splice(0));
    if (rest) return withFull(rest);
    return out.hasFull ? out.takeFull() : undefined;
  }
  function* withFull(rest: Generator<Uint8Array>): Generator<Uint8Array> {
    yield* rest;
    yield* out.takeFull();
  }
  async function* batches(): AsyncGenerator<Uint8Array> {
    for (const made of records.preamble ?? []) {
      writeMemoryEntry(out, made);
      yield* out.takeFull();
    }
    let first = true;
    const files = records.files;
    // The catalog's pages come as one sync iterable: one `for await` step for all of them, not
    // a promise per file.
    const pages = Symbol.iterator in files ? [files] : files;
    for await (const page of pages) {
      for (const file of page) {
        if (first) {
          first = false;
          for (const folder of records.ancestors) yield* pack(folder, ancestorResults()) ?? [];
        }
        const made = pack(file, results);
        if (made) yield* made;
      }
    }
    out.write(TAR_END_OF_ARCHIVE);
    yield* out.takeFull();
    const last = out.flush();
    if (last) yield last;
  }
  return {
    stream: ReadableStream.from(batches()),
    updates: results.updates,
    hashes: results.hashes,
    totals: results.totals,
  };
}

/** Writes a file made in memory: header, bytes, padding. */
function writeMemoryEntry(out: BatchWriter, made: MemoryEntry): void {
  out.write(encodeTarHeader({
    path: made.archivePath,
    type: "file",
    size: made.bytes.length,
    mode: 0o644,
    mtime: Math.floor(made.mtimeMs / 1000),
  }));
  out.write(made.bytes);
  out.zeros(tarPaddingLength(made.bytes.length));
}

/**
 * The start of a volume's TAR stream as `volumeTar` writes it: the entries made in memory, then
 * the folders above its first file (`ancestors`, given only when the volume has a file).
 */
export function* volumeHead(
  preamble: MemoryEntry[],
  ancestors: Iterable<PackRecord>,
): Generator<Uint8Array> {
  const runs = new RunPacker();
  const out = new BatchWriter();
  for (const made of preamble) writeMemoryEntry(out, made);
  yield* out.takeFull();
  const rest = out.takeRest();
  if (rest) yield rest;
  // What packing the folders finds out is not worth keeping (as in `volumeTar`).
  yield* runs.pack(ancestors);
}

/**
 * Packs runs of a volume's records, each into TAR bytes of its own that end where its last entry
 * ends: how two threads pack one volume together (volume_tar_worker.ts), each taking runs in
 * turn, with the runs' bytes put back in order. Each thread has its own `RunPacker`; a hardlink
 * links to a name its own packer packed, or one the other thread's packed and passed on
 * (`takeNewLinks`, `addLinks`) before the hardlink's run is packed.
 */
export class RunPacker {
  /** What the runs packed so far found (hashes are taken out by the caller as it goes). */
  readonly results: PackResults = { updates: [], hashes: [], totals: { entries: 0, bytes: 0 } };
  readonly #out = new BatchWriter();
  readonly #links: PackedLinks;
  readonly #packer: Packer;

  /**
   * `passesLinksOn`: the files with several links it packs are kept for `takeNewLinks`.
   * `sealed`: which folders allow the quick path (see `Packer`); this system's by default.
   */
  constructor(passesLinksOn = false, sealed = new SealedFolders()) {
    this.#links = new PackedLinks(passesLinksOn);
    this.#packer = new Packer(this.#out, this.#links, sealed);
  }

  /** The files with several links this packer packed since the last call (for the other). */
  takeNewLinks(): PackedLink[] {
    return this.#links.takeNew();
  }

  /** Files with several links the other thread packed, earlier in the stream: linked to. */
  addLinks(links: PackedLink[]): void {
    for (const link of links) this.#links.add(link);
  }

  /** The TAR bytes of `records`: full batches, then the rest; each a whole buffer of its own. */
  *pack(records: Iterable<PackRecord>): Generator<Uint8Array> {
    const out = this.#out;
    for (const record of records) {
      const rest = this.#packer.pack(record, this.results);
      if (rest) yield* rest;
      if (out.hasFull) yield* out.takeFull();
    }
    const rest = out.takeRest();
    if (rest) yield rest;
  }
}

/** Where packing reports on the entries it packs. */
export interface PackResults {
  updates: PackedFileUpdate[];
  hashes: PackedFileHash[];
  totals: { entries: number; bytes: number };
}

/**
 * Files up to this size are read whole at once, without a yield: at most one batch fills while
 * one is read, so memory stays bounded. Larger ones are read by a generator that hands on each
 * batch as it fills.
 */
const READ_WHOLE_BYTES = 256 * 1024;

/** How reading a file's content went so far. */
interface ContentRead {
  remaining: number;
  /** The file ended (or failed) early: the rest of its size is filled with zeros. */
  shortRead: boolean;
  readFailed: boolean;
}

/**
 * Packs entries into a BatchWriter, looking at each on disk again. The careful path looks at the
 * path (lstat) before it opens it (a FIFO's open would block, a device's act), and checks that
 * what it opened is what it looked at. A small file the scan saw in a sealed folder
 * (sealed_folders.ts), where no one else can swap it for a FIFO or a device, takes the quick
 * path: opened at once, read, and looked at on the open file (fstat), one system call fewer. It
 * is packed so only when it is still, after the read, the very file the scan saw (device, inode,
 * size, mtime); anything else is dropped unwritten and packed by the careful path.
 */
class Packer {
  /** A small file's bytes on the quick path, until they are known to be packed. */
  #scratch: Uint8Array | undefined;

  constructor(
    private readonly out: BatchWriter,
    private readonly links: PackedLinks,
    private readonly sealed = new SealedFolders(),
  ) {}

  /**
   * Packs `file`. A large regular file is only opened and its header written: the generator
   * returned reads its content (and must be run to the end, or returned, to close it).
   */
  pack(file: PackRecord, results: PackResults): Generator<Uint8Array> | undefined {
    if (
      file.type === "file" && file.size <= READ_WHOLE_BYTES && file.fileId &&
      this.sealed.isSealed(folderOf(file.path)) && this.#packAsScanned(file, results)
    ) {
      return;
    }
    const { out, links } = this;
    const { updates, totals } = results;
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(file.path);
    } catch (error) {
      updates.push(changed(file, error, file.size, file.mtimeMs));
      return;
    }
    const type = info.isDirectory ? "directory" : info.isSymlink ? "symlink" : "file";
    const scannedType = file.type === "hardlink" ? "file" : file.type;
    if (type !== scannedType || !(info.isFile || info.isDirectory || info.isSymlink)) {
      // It was replaced by something of another kind since the scan: treat the old one as gone.
      updates.push({ id: file.id, state: "vanished", size: file.size, mtimeMs: file.mtimeMs });
      return;
    }
    const mtimeMs = info.mtime?.getTime() ?? file.mtimeMs;
    const entry = entryOf(file, info, type, mtimeMs);
    const linkTo = file.type === "hardlink" ? links.packedName(info) : undefined;
    if (linkTo !== undefined) {
      entry.type = "hardlink";
      entry.linkName = linkTo;
      out.write(encodeTarHeader(entry, out.headerScratch));
      totals.entries++;
      if (linkTo !== file.linkTarget || mtimeMs !== file.mtimeMs) {
        updates.push({
          id: file.id,
          state: "stored",
          size: 0,
          mtimeMs,
          type: "hardlink",
          linkTarget: linkTo,
        });
      }
      return;
    }
    if (type === "symlink") {
      try {
        entry.linkName = Deno.readLinkSync(file.path);
      } catch (error) {
        updates.push(changed(file, error, 0, mtimeMs));
        return;
      }
    }
    if (type !== "file") {
      out.write(encodeTarHeader(entry, out.headerScratch));
      totals.entries++;
      if (mtimeMs !== file.mtimeMs) {
        updates.push({ id: file.id, state: "stored", size: 0, mtimeMs });
      }
      return;
    }
    let handle: Deno.FsFile;
    try {
      // No options: read-only, the default, without the options check's cost (~0.3 µs a file).
      handle = Deno.openSync(file.path);
    } catch (error) {
      updates.push(changed(file, error, file.size, file.mtimeMs));
      return;
    }
    let handedOn = false;
    try {
      // A large file's bytes leave in batches as they are read: what was opened is checked first.
      // A small one's stay in the current batch until `#finish` checks, and are taken back there.
      if (info.size > READ_WHOLE_BYTES && !sameFile(info, handle.statSync())) {
        updates.push(swapped(file));
        return;
      }
      const start = out.mark();
      entry.size = info.size;
      out.write(encodeTarHeader(entry, out.headerScratch));
      // The hash an incremental backup compares with (`--rehash`), taken as the bytes go by.
      const digest = createHash("sha256");
      const read: ContentRead = { remaining: info.size, shortRead: false, readFailed: false };
      if (info.size > READ_WHOLE_BYTES) {
        handedOn = true;
        return this.#readLarge(file, info, handle, read, digest, results);
      }
      while (read.remaining > 0) this.#readSome(handle, read, digest);
      this.#finish(file, info, handle, read, digest, results, start);
    } finally {
      if (!handedOn) handle.close();
    }
  }

  /**
   * The quick path: packs the small file `file` if, read through a handle opened without a look
   * first, it is still what the scan saw; false, with nothing written, otherwise.
   */
  #packAsScanned(file: PackRecord, results: PackResults): boolean {
    let handle: Deno.FsFile;
    try {
      handle = Deno.openSync(file.path);
    } catch {
      return false;
    }
    let info: Deno.FileInfo;
    let got = 0;
    const scratch = this.#scratch ??= new Uint8Array(READ_WHOLE_BYTES + 1);
    try {
      // Up to one byte more than the scan saw, so that a file that grew shows at once. Once the
      // scan's size is in, no read waits for the end of the file (a system call a file less, an
      // empty file is not read at all): the look after tells whether it is still that size.
      const wanted = file.size + 1;
      while (got < file.size) {
        const read = handle.readSync(scratch.subarray(got, wanted));
        if (read === null || read === 0) break;
        got += read;
      }
      info = handle.statSync();
    } catch {
      return false;
    } finally {
      handle.close();
    }
    if (
      !info.isFile || got !== file.size || info.size !== file.size ||
      info.mtime?.getTime() !== file.mtimeMs || fileIdOf(info) !== file.fileId
    ) {
      return false;
    }
    const bytes = scratch.subarray(0, got);
    const out = this.out;
    const entry = entryOf(file, info, "file", file.mtimeMs);
    entry.size = got;
    out.write(encodeTarHeader(entry, out.headerScratch));
    out.write(bytes);
    out.zeros(tarPaddingLength(got));
    results.totals.entries++;
    results.totals.bytes += got;
    this.links.packed(info, file.archivePath);
    results.hashes.push({ id: file.id, sha256: createHash("sha256").update(bytes).digest("hex") });
    return true;
  }

  *#readLarge(
    file: PackRecord,
    info: Deno.FileInfo,
    handle: Deno.FsFile,
    read: ContentRead,
    digest: Hash,
    results: PackResults,
  ): Generator<Uint8Array> {
    try {
      while (read.remaining > 0) {
        this.#readSome(handle, read, digest);
        yield* this.out.takeFull();
      }
      this.#finish(file, info, handle, read, digest, results);
    } finally {
      handle.close();
    }
  }

  /** Reads what fits in the current batch (zeros once the file has ended or failed). */
  #readSome(handle: Deno.FsFile, read: ContentRead, digest: Hash): void {
    const target = this.out.space(read.remaining);
    let got: number | null = null;
    if (!read.shortRead) {
      try {
        got = handle.readSync(target);
      } catch {
        // A failed read leaves the file position unknown: no later byte can be trusted.
        read.readFailed = true;
      }
    }
    if (got === null || got === 0) {
      // The file shrank while read, or could not be read: zeros fill up the size in the header.
      read.shortRead = true;
      target.fill(0);
      got = target.length;
    }
    read.remaining -= got;
    digest.update(got === target.length ? target : target.subarray(0, got));
    this.out.advance(got);
  }

  /**
   * Pads the content, checks whether the file moved while read, and reports the outcome. A small
   * file (`start`: where its header began, all of it still in the current batches) whose handle
   * is not on the file `info` describes is taken out again: see `swapped`.
   */
  #finish(
    file: PackRecord,
    info: Deno.FileInfo,
    handle: Deno.FsFile,
    read: ContentRead,
    digest: Hash,
    results: PackResults,
    start?: BatchMark,
  ): void {
    const size = info.size;
    const mtimeMs = info.mtime?.getTime() ?? file.mtimeMs;
    const after = handle.statSync();
    if (start && !sameFile(info, after)) {
      this.out.rewind(start);
      results.updates.push(swapped(file));
      return;
    }
    this.out.zeros(tarPaddingLength(size));
    results.totals.entries++;
    results.totals.bytes += size;
    const moved = after.size !== size || after.mtime?.getTime() !== info.mtime?.getTime();
    // A hardlink without a name of its file earlier in this volume is stored as a full copy.
    const copyOfLink = file.type === "hardlink";
    const state: PackedState | undefined = read.readFailed
      ? "unreadable"
      : read.shortRead || moved
      ? "changed"
      : size !== file.size || mtimeMs !== file.mtimeMs || copyOfLink
      ? "stored"
      : undefined;
    if (state !== undefined) {
      const update: PackedFileUpdate = { id: file.id, state, size, mtimeMs };
      if (copyOfLink) update.type = "file";
      results.updates.push(update);
    }
    if (!read.readFailed) {
      this.links.packed(info, file.archivePath);
      results.hashes.push({ id: file.id, sha256: digest.digest("hex") });
    }
  }
}

/** A file with several links packed in a volume: its device and inode, and its archive path. */
export type PackedLink = [key: string, archivePath: string];

/** The files with several links packed so far in one volume, by device and inode. */
class PackedLinks {
  readonly #byInode = new Map<string, string>();
  /** Those remembered since the last `takeNew`, when they are passed on. */
  readonly #new: PackedLink[] | undefined;

  constructor(passedOn = false) {
    this.#new = passedOn ? [] : undefined;
  }

  /** Remembers that the file `info` describes is in the volume as `archivePath` (if first). */
  packed(info: Deno.FileInfo, archivePath: string): void {
    const key = inodeKey(info);
    if (key !== undefined) this.add([key, archivePath]);
  }

  /** Remembers a file packed elsewhere (by another thread, earlier in the stream), if first. */
  add([key, archivePath]: PackedLink): void {
    if (this.#byInode.has(key)) return;
    this.#byInode.set(key, archivePath);
    this.#new?.push([key, archivePath]);
  }

  /** The files remembered since the last call (none unless passed on). */
  takeNew(): PackedLink[] {
    return this.#new?.splice(0) ?? [];
  }

  /** The archive path under which the file `info` describes is already in the volume, if any. */
  packedName(info: Deno.FileInfo): string | undefined {
    const key = inodeKey(info);
    return key === undefined ? undefined : this.#byInode.get(key);
  }
}

/**
 * The header of `file` as `info` (a look at it on disk) describes it, as a `type` last modified
 * at `mtimeMs`; its size 0 until the caller sets it.
 */
function entryOf(
  file: PackRecord,
  info: Deno.FileInfo,
  type: ModeEntryType,
  mtimeMs: number,
): TarEntry {
  return {
    path: file.archivePath,
    type,
    size: 0,
    mode: info.mode === null ? file.mode : storedMode(info.mode, type),
    mtime: Math.floor(mtimeMs / 1000),
    uid: info.uid ?? undefined,
    gid: info.gid ?? undefined,
  };
}

function inodeKey(info: Deno.FileInfo): string | undefined {
  if (!info.isFile || info.nlink === null || info.nlink < 2) return undefined;
  return fileIdOf(info) ?? undefined;
}

/**
 * Whether an open handle's file (`opened`) is the one a path's lstat saw (`looked`). It is not
 * when the path was swapped in between, for a symlink above all: the open followed it, maybe to a
 * file its owner may not read (a backup run by root over a user's folder). Where the system gives
 * no inode, the two cannot be told apart and the file is packed.
 */
function sameFile(looked: Deno.FileInfo, opened: Deno.FileInfo): boolean {
  if (looked.ino === null || opened.ino === null) return true;
  return sameInode(looked, opened);
}

/** What a file swapped between its lstat and its open becomes: gone, as far as this backup goes. */
function swapped(file: PackRecord): PackedFileUpdate {
  return { id: file.id, state: "vanished", size: file.size, mtimeMs: file.mtimeMs };
}

/** The outcome of a file that could not be looked at or opened: gone, or unreadable. */
function changed(
  file: PackRecord,
  error: unknown,
  size: number,
  mtimeMs: number,
): PackedFileUpdate {
  const state: PackedState = error instanceof Deno.errors.NotFound ? "vanished" : "unreadable";
  return { id: file.id, state, size, mtimeMs };
}

/** A place in a `BatchWriter`'s output (`mark`), to go back to (`rewind`). */
interface BatchMark {
  full: number;
  used: number;
}

/**
 * Fills fixed-size buffers and queues each one once it is full. Each buffer is new (zero-filled)
 * and written front to back, never twice (what `rewind` takes back is zeroed again): padding is
 * skipped over, not written.
 */
export class BatchWriter {
  /**
   * Where this stream's plain headers are encoded before `write` copies them in: one block per
   * stream, not per entry (a volume being rebuilt may be packed beside another).
   */
  readonly headerScratch = new Uint8Array(512);
  #buffer = new Uint8Array(TAR_BATCH_BYTES);
  #used = 0;
  #full: Uint8Array<ArrayBuffer>[] = [];

  /** A writable window of at most `wanted` bytes at the end of the current buffer. */
  space(wanted: number): Uint8Array {
    return this.#buffer.subarray(this.#used, Math.min(this.#used + wanted, this.#buffer.length));
  }

  /** Commits `n` bytes written into `space()` (at most its length); queues a filled buffer. */
  advance(n: number): void {
    this.#used += n;
    if (this.#used < this.#buffer.length) return;
    this.#full.push(this.#buffer);
    this.#buffer = new Uint8Array(TAR_BATCH_BYTES);
    this.#used = 0;
  }

  /** Where the next byte goes: `rewind` takes back what was written after it. */
  mark(): BatchMark {
    return { full: this.#full.length, used: this.#used };
  }

  /**
   * Takes back everything written since `mark`, which must still be in this writer (no `takeFull`
   * in between): the bytes are zeroed, as buffers must be where nothing was written.
   */
  rewind(mark: BatchMark): void {
    if (this.#full.length < mark.full) throw new Error("rewind past buffers handed out");
    while (this.#full.length > mark.full) {
      this.#buffer = this.#full.pop()!;
      this.#used = this.#buffer.length;
    }
    this.#buffer.fill(0, mark.used, this.#used);
    this.#used = mark.used;
  }

  /** Copies `bytes` in. */
  write(bytes: Uint8Array): void {
    const room = this.#buffer.length - this.#used;
    if (bytes.length < room) {
      this.#buffer.set(bytes, this.#used);
      this.#used += bytes.length;
      return;
    }
    let offset = 0;
    while (offset < bytes.length) {
      const target = this.space(bytes.length - offset);
      target.set(bytes.subarray(offset, offset + target.length));
      offset += target.length;
      this.advance(target.length);
    }
  }

  /** Adds `n` zero bytes (the buffers start zero-filled and are never written twice). */
  zeros(n: number): void {
    let rest = n;
    while (rest > 0) {
      const step = Math.min(rest, this.#buffer.length - this.#used);
      rest -= step;
      this.advance(step);
    }
  }

  /** Whether a filled buffer is queued. */
  get hasFull(): boolean {
    return this.#full.length > 0;
  }

  /** Hands out the filled buffers queued so far, oldest first. */
  *takeFull(): Generator<Uint8Array> {
    while (this.#full.length > 0) yield this.#full.shift()!;
  }

  /**
   * A copy of what the partly filled buffer holds, if anything (call once the queue is taken);
   * the buffer is zeroed and filled again, so a stream cut in many pieces allocates no new one.
   */
  takeRest(): Uint8Array | undefined {
    if (this.#used === 0) return undefined;
    const rest = this.#buffer.slice(0, this.#used);
    this.#buffer.fill(0, 0, this.#used);
    this.#used = 0;
    return rest;
  }

  /** The partly filled buffer, if any (call once the queue is taken). */
  flush(): Uint8Array | undefined {
    if (this.#used === 0) return undefined;
    const rest = this.#buffer.subarray(0, this.#used);
    this.#buffer = new Uint8Array(TAR_BATCH_BYTES);
    this.#used = 0;
    return rest;
  }
}
