/**
 * Extracts the wanted entries of one volume file: age decrypt, decompress, read the TAR stream,
 * pair each entry with its catalog row, and write the wanted ones through a `RestoreWriter`. Every
 * entry path is checked before anything else is done with the entry, and the whole volume is
 * refused at the first unsafe or unexpected one. An entry the file system will not take (a name
 * too long, a permission denied) is reported and skipped.
 *
 * The file is checked already (a download), or is being checked while it is decoded (`verified`,
 * a `file:` bucket's volume): until that check is over, no entry gets its name; a file's content
 * only goes to its part file in the staging folder, and at most `HELD_ENTRIES` entries wait so.
 */
import type { Catalog, VolumeRecord } from "../catalog/catalog.ts";
import type { VolumeEntryRow } from "../catalog/restore_state.ts";
import type { Compression } from "../catalog/settings.ts";
import { errorLine } from "../archive/errors.ts";
import { readTar, type TarMember, type TarReadEntry } from "../archive/tar_reader.ts";
import { type FileIdentity, VolumeDecoder } from "../archive/volume_decoder.ts";
import type { VolumeCheck } from "../archive/volume_check.ts";
import { MANY_FILES_MIN_ENTRIES } from "../archive/small_files.ts";
import { RESTORABLE_STATES } from "./plan.ts";
import type { Owner } from "./ownership.ts";
import {
  assertEntryPath,
  type EntryOptions,
  type FileMeta,
  type RestoreWriter,
  type StagedFile,
  type WriteOutcome,
} from "./safe_writer.ts";
import type { Selection } from "./selection.ts";
import { VolumeEntryMatcher, VolumeMismatchError } from "./volume_entries.ts";
import { VolumeHardlinks } from "./hardlinks.ts";
import { MAX_PLACERS, placersRunning, SmallFilePlacer } from "./small_file_placer.ts";
import { type SymlinkType, symlinkType } from "./symlink_type.ts";

/** Files up to this size are read whole and written with plain calls (see safe_writer.ts). */
const SMALL_FILE_BYTES = 256 * 1024;

/**
 * Small files written on this thread before the rest of a volume's go to a placing worker
 * (small_file_placer.ts): a volume of a few small files is not worth a worker's start.
 */
const PLACER_AFTER_FILES = 256;

/**
 * Whether `volume`'s small files are worth a placing worker (small_file_placer.ts): when it holds
 * many entries (`MANY_FILES_MIN_ENTRIES`, whatever their sizes). The worker costs ~15 MiB of RSS.
 * A volume of mostly small files pays it back (restore-small, 300,000 files of a few KiB: 0.88x
 * the time), and so now does one of larger files, whose small files the decoder otherwise waits
 * for (restore-mixed, 20,000 files of 41 KB on average: 0.955x the time, 141 MiB of peak RSS
 * instead of 126).
 */
export function placesOnWorker(volume: VolumeRecord): boolean {
  return volume.lastFileId - volume.firstFileId + 1 >= MANY_FILES_MIN_ENTRIES;
}

/**
 * Entries held (their content staged, not yet given their names) while the volume's check is
 * not over; at this many, the extraction waits for the check.
 */
export const HELD_ENTRIES = 4096;

/** What an extraction did. */
export interface ExtractReport {
  /** Entries written. */
  written: number;
  /** Content bytes of the files written. */
  bytes: number;
  /** Entries found already in place from an interrupted run of the same restore. */
  identical: number;
}

/** Something about one entry the user must hear of. */
export interface EntryProblem {
  path: string;
  /**
   * `exists`: left alone (no --overwrite); `blocked`: not safely writable; `absent`: not in the
   * volume; `nolink`: a symlink this user may not create (reported once for all, see tally.ts).
   */
  kind: "exists" | "blocked" | "absent" | "nolink";
  message: string;
}

/** Inputs of `extractVolume`. */
export interface ExtractOptions {
  catalog: Catalog;
  volume: VolumeRecord;
  /**
   * The local volume file: checked already, or checked by the decoder before a byte of it is
   * decoded when `check` is given.
   */
  path: string;
  /** Size and SHA-256 the file at `path` must have (see `VolumeDecoder.decode`). */
  check?: VolumeCheck;
  /**
   * Settles when the volume's check (made elsewhere while it is decoded) is over: until it
   * resolves, the entries are held, their content only staged (see `HELD_ENTRIES`); when it
   * rejects, the held entries are dropped and the extraction fails with its error.
   */
  verified?: Promise<void>;
  /** Told which file the decoder opened (to compare with the file the check hashed). */
  onOpened?: (identity: FileIdentity) => void;
  compression: Compression;
  encrypted: boolean;
  /** age identities (needed when `encrypted`). */
  identities: string[];
  selection: Selection;
  writer: RestoreWriter;
  /** Accept entries already in place as restored (a rerun of the same restore). */
  acceptIdentical: boolean;
  onProblem: (problem: EntryProblem) => void;
  signal?: AbortSignal;
  /** The decoding worker to use, started early (one of its own otherwise). */
  decoder?: VolumeDecoder;
}

/**
 * The stream of TAR bytes in a volume file: decrypted and decompressed (zstd frame by frame, see
 * zstd_frames.ts) on a worker thread, while this one reads the TAR stream and writes the files.
 */
export function openVolumeTar(
  path: string,
  compression: Compression,
  encrypted: boolean,
  identities: string[],
  decoder: VolumeDecoder = new VolumeDecoder(),
  check?: VolumeCheck,
  onOpened?: (identity: FileIdentity) => void,
): ReadableStream<Uint8Array> {
  return decoder.decode(path, { compression, encrypt: encrypted }, identities, check, onOpened);
}

/** Extracts what `options.selection` wants from one volume file. */
export async function extractVolume(options: ExtractOptions): Promise<ExtractReport> {
  const { catalog, volume, writer, selection } = options;
  const report: ExtractReport = { written: 0, bytes: 0, identical: 0 };
  const matcher = new VolumeEntryMatcher(
    catalog,
    volume.id,
    volume.name,
    (volume.backupId ?? null) !== null,
  );
  const links = VolumeHardlinks.forVolume(catalog, volume.id, selection);
  const entryOptions = { acceptIdentical: options.acceptIdentical };
  const tar = openVolumeTar(
    options.path,
    options.compression,
    options.encrypted,
    options.identities,
    options.decoder,
    options.check,
    options.onOpened,
  );
  /** Counts what became of one wanted entry. */
  const settle = (entry: TarReadEntry, record: VolumeEntryRow, outcome: WriteOutcome) => {
    if (outcome.kind === "written" || outcome.kind === "identical") {
      links.restored(record.archivePath, entry.path);
    }
    countOutcome(report, entry, outcome, options.onProblem);
  };
  /** Writes one wanted entry in stream order (a folder, a link, a large file). */
  const write = async (
    entry: TarReadEntry,
    record: VolumeEntryRow,
    member: TarMember | undefined,
  ): Promise<void> => {
    let outcome: WriteOutcome;
    try {
      outcome = entry.type === "hardlink"
        ? writeHardlink(writer, entry, record, links, entryOptions)
        : await writeEntry(writer, entry, member, entryOptions, linkTypeOf(catalog, entry, record));
    } catch (error) {
      // A file's body was consumed or cancelled by the writer; no other entry's body was made.
      outcome = entryWriteFailure(error);
    }
    settle(entry, record, outcome);
  };
  /** Wanted entries, in stream order, held until the check is over; files with their content. */
  const held: ({ entry: TarReadEntry; record: VolumeEntryRow; staged?: StagedFile })[] = [];
  /** Held entries before this one are through (placed, or settled otherwise). */
  let through = 0;
  let verified = options.verified === undefined;
  let refused: { error: unknown } | undefined;
  options.verified?.then(() => verified = true, (error) => refused = { error });
  /** Waits for the check, then gives every held entry its name, in order. */
  const release = async () => {
    await options.verified;
    verified = true;
    while (through < held.length) {
      const { entry, record, staged } = held[through++];
      if (!staged) {
        await write(entry, record, undefined);
        continue;
      }
      settle(
        entry,
        record,
        outcomeOf(() => writer.placeStaged(entry.path, staged, fileMeta(entry), entryOptions)),
      );
    }
    held.length = 0;
    through = 0;
  };
  /**
   * Places small files on another thread, in a volume of many small files (`placesOnWorker`) once
   * it has shown it has many (and unless another volume's placer runs: then this one writes them
   * itself).
   */
  let placer: SmallFilePlacer | undefined;
  let smallFiles = 0;
  const manySmallFiles = placesOnWorker(volume);
  try {
    await extractEntries();
    await placer?.drain();
    await release();
  } finally {
    // On a stop or an error too, files the worker started are finished, not left half-written.
    await placer?.finish();
    // Whatever was held and not placed (a refused volume, an error) leaves no part file behind.
    for (let i = through; i < held.length; i++) {
      const staged = held[i].staged;
      if (staged) writer.discardStaged(staged);
    }
  }
  for (const row of matcher.unmatched()) {
    if (!RESTORABLE_STATES.has(row.state) || !selection.matches(row.archivePath)) continue;
    options.onProblem({
      path: row.archivePath,
      kind: "absent",
      message: `not found in volume ${volume.name}`,
    });
  }
  return report;

  /** Reads the TAR stream and writes (or holds) each wanted entry. */
  async function extractEntries(): Promise<void> {
    // A member neither read nor streamed is skipped by the reader (its body stream is never made).
    for await (const member of readTar(tar)) {
      let entry = member.entry;
      options.signal?.throwIfAborted();
      if (refused) throw refused.error;
      if (isRootFolder(entry)) {
        // The source root of a backup of `/` (archive path "", `./` in the TAR): that is DIR itself.
        matcher.next({ ...entry, path: "" });
        continue;
      }
      assertEntryPath(entry.path);
      const match = matcher.next(entry);
      const record = match.kind === "own" ? match.record : undefined;
      const restorable = record !== undefined && RESTORABLE_STATES.has(record.state);
      const wanted = restorable && selection.matches(record.archivePath);
      // An unwanted file a wanted hardlink names is written under the link's name.
      const path = wanted ? entry.path : restorable ? links.substituteFor(record) : undefined;
      if (
        !record || path === undefined ||
        (entry.type === "hardlink" && links.wasWrittenAsData(entry.path))
      ) {
        continue;
      }
      if (path !== entry.path) entry = { ...entry, path };
      if (held.length > 0 && (verified || held.length >= HELD_ENTRIES)) await release();
      if (!verified) {
        // The check is not over: a file's content goes to its part file, its name waits.
        let staged: StagedFile | undefined;
        if (entry.type === "file") {
          try {
            staged = entry.size <= SMALL_FILE_BYTES
              ? writer.stageSync(await member.readWhole(), fileMeta(entry))
              : await writer.stage(member.body, fileMeta(entry));
          } catch (error) {
            settle(entry, record, entryWriteFailure(error));
            continue;
          }
        }
        held.push({ entry, record, staged });
        continue;
      }
      // A hard link names a file written before it: that file must be in place.
      if (entry.type === "hardlink") await placer?.drain();
      if (
        entry.type === "file" && entry.size <= SMALL_FILE_BYTES && manySmallFiles &&
        ++smallFiles > PLACER_AFTER_FILES &&
        (placer ??= placersRunning() < MAX_PLACERS
            ? new SmallFilePlacer(writer.newPlacerFiles())
            : undefined) !== undefined
      ) {
        // Checked here, placed on the worker; its outcome is counted when the worker answers.
        const bytes = member.wholeNow() ?? await member.readWhole();
        const meta = fileMeta(entry);
        let placement: ReturnType<RestoreWriter["checkFile"]>;
        try {
          placement = writer.checkFile(entry.path, meta, entryOptions);
        } catch (error) {
          settle(entry, record, entryWriteFailure(error));
          continue;
        }
        if ("kind" in placement) {
          settle(entry, record, placement);
          continue;
        }
        const [placedEntry, placedRecord] = [entry, record];
        const adding = placer.add(placement, meta, bytes, (outcome) =>
          settle(
            placedEntry,
            placedRecord,
            outcome instanceof Error ? entryWriteFailure(outcome) : outcome,
          ));
        if (adding) await adding;
        continue;
      }
      if (entry.type === "file" && entry.size <= SMALL_FILE_BYTES) {
        // A small file is read whole and written with plain calls, before the next entry.
        const bytes = member.wholeNow() ?? await member.readWhole();
        settle(
          entry,
          record,
          outcomeOf(() => writer.fileSync(entry.path, bytes, fileMeta(entry), entryOptions)),
        );
        continue;
      }
      await write(entry, record, member);
    }
  }
}

/** Adds what became of one entry to `report`, or reports it as a problem. */
function countOutcome(
  report: ExtractReport,
  entry: TarReadEntry,
  outcome: WriteOutcome,
  onProblem: (problem: EntryProblem) => void,
): void {
  if (outcome.kind === "written" && entry.type === "file") report.bytes += entry.size;
  switch (outcome.kind) {
    case "written":
      report.written++;
      break;
    case "identical":
      report.identical++;
      break;
    case "exists":
      onProblem({
        path: entry.path,
        kind: "exists",
        message: "already exists; left alone (use --overwrite to replace it)",
      });
      break;
    case "blocked":
      onProblem({ path: entry.path, kind: "blocked", message: outcome.reason });
      break;
    case "nolink":
      onProblem({
        path: entry.path,
        kind: "nolink",
        message: "symlink not restored: this user may not create symlinks",
      });
      break;
  }
}

/** The type Windows needs to create a symlink entry with (catalog.ts knows its target). */
function linkTypeOf(
  catalog: Catalog,
  entry: TarReadEntry,
  record: VolumeEntryRow,
): SymlinkType | undefined {
  return entry.type === "symlink" ? symlinkType(catalog, record) : undefined;
}

/** What a synchronous write did, or the outcome of one the file system would not take. */
function outcomeOf(write: () => WriteOutcome): WriteOutcome {
  try {
    return write();
  } catch (error) {
    return entryWriteFailure(error);
  }
}

/** The outcome of an entry the file system would not take; any other error is thrown again. */
function entryWriteFailure(error: unknown): WriteOutcome {
  if (!isEntryWriteError(error)) throw error;
  return { kind: "blocked", reason: `cannot be written: ${errorLine(error)}` };
}

/** A file entry's metadata, with its owner when the volume gives one. */
function fileMeta(entry: TarReadEntry): FileMeta {
  return { size: entry.size, mode: entry.mode, mtime: entry.mtime, owner: ownerOf(entry) };
}

/** The owner stored with an entry, if both ids are. */
function ownerOf(entry: TarReadEntry): Owner | undefined {
  return entry.uid !== undefined && entry.gid !== undefined
    ? { uid: entry.uid, gid: entry.gid }
    : undefined;
}

/** A folder entry naming the destination itself: `./` (read back as `.`) or "". */
function isRootFolder(entry: TarReadEntry): boolean {
  return entry.type === "directory" && (entry.path === "." || entry.path === "");
}

/**
 * A file system error that spoils one entry only (a name too long, permission denied, ...):
 * an OS error with an errno code, but not a full disk (nothing more would go in) nor an
 * interruption. Errors of the volume stream itself (decryption, decompression, TAR) carry no
 * such code and still fail the volume.
 */
function isEntryWriteError(error: unknown): boolean {
  if (!(error instanceof Error) || error.name === "AbortError") return false;
  if (error instanceof Deno.errors.Interrupted) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !/^E[A-Z0-9]+$/.test(code)) return false;
  return code !== "ENOSPC" && code !== "EDQUOT" && !/No space left/i.test(error.message);
}

/** Restores a hardlink as a new name of the file it names, if this run restored that file. */
function writeHardlink(
  writer: RestoreWriter,
  entry: TarReadEntry,
  record: VolumeEntryRow,
  links: VolumeHardlinks,
  entryOptions: EntryOptions,
): WriteOutcome {
  if (entry.linkName === undefined || entry.linkName !== record.linkTarget) {
    throw new VolumeMismatchError(
      `hardlink ${JSON.stringify(entry.path)} does not name the file the catalog says`,
    );
  }
  const target = links.restoredTarget(entry.linkName);
  if (target === undefined) {
    return {
      kind: "blocked",
      reason: `the file it links to, ${entry.linkName}, was not restored`,
    };
  }
  return writer.hardlink(entry.path, target, entryOptions);
}

/**
 * Writes one wanted folder, symlink or (large) file; only a file's body stream is made (the
 * reader skips a member whose body nobody asked for).
 */
async function writeEntry(
  writer: RestoreWriter,
  entry: TarReadEntry,
  member: TarMember | undefined,
  entryOptions: EntryOptions,
  linkType: SymlinkType | undefined,
): Promise<WriteOutcome> {
  const owner = ownerOf(entry);
  if (entry.type === "directory") {
    const outcome = writer.directory(entry.path, owner);
    return outcome.kind === "identical" ? { kind: "written" } : outcome; // merging into a folder is fine
  }
  if (entry.type === "symlink") {
    if (entry.linkName === undefined) {
      throw new VolumeMismatchError(`symlink ${JSON.stringify(entry.path)} has no target`);
    }
    return writer.symlink(entry.path, entry.linkName, entryOptions, owner, linkType);
  }
  if (!member) throw new TypeError(`file ${JSON.stringify(entry.path)} without its content`);
  return await writer.file(entry.path, member.body, fileMeta(entry), entryOptions);
}
