/**
 * Extracts the wanted entries of one downloaded (and already checked) volume file: age decrypt,
 * decompress, read the TAR stream, pair each entry with its catalog row, and write the wanted
 * ones through a `RestoreWriter`. Every entry path is checked before anything else is done with
 * the entry, and the whole volume is refused at the first unsafe or unexpected one.
 */
import type { Catalog, VolumeRecord } from "../catalog/catalog.ts";
import type { Compression } from "../catalog/settings.ts";
import { decompressStream } from "../archive/compress.ts";
import { readTar } from "../archive/tar_reader.ts";
import { createDecryptStream } from "../crypto/age.ts";
import { RESTORABLE_STATES } from "./plan.ts";
import { entrySegments, type RestoreWriter, type WriteOutcome } from "./safe_writer.ts";
import type { Selection } from "./selection.ts";
import { VolumeEntryMatcher, VolumeMismatchError } from "./volume_entries.ts";

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
  /** `exists`: left alone (no --overwrite); `blocked`: not safely writable; `absent`: not in the volume. */
  kind: "exists" | "blocked" | "absent";
  message: string;
}

/** Inputs of `extractVolume`. */
export interface ExtractOptions {
  catalog: Catalog;
  volume: VolumeRecord;
  /** The local, checked volume file. */
  path: string;
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
}

/**
 * The stream of TAR bytes in a volume file: decrypted and decompressed (zstd frame by frame, see
 * zstd_frames.ts).
 */
export async function openVolumeTar(
  path: string,
  compression: Compression,
  encrypted: boolean,
  identities: string[],
): Promise<ReadableStream<Uint8Array>> {
  const file = await Deno.open(path, { read: true });
  let stream: ReadableStream<Uint8Array> = file.readable;
  if (encrypted) stream = stream.pipeThrough(createDecryptStream(identities));
  return stream.pipeThrough(decompressStream(compression));
}

/** Extracts what `options.selection` wants from one volume file. */
export async function extractVolume(options: ExtractOptions): Promise<ExtractReport> {
  const { catalog, volume, writer, selection } = options;
  const report: ExtractReport = { written: 0, bytes: 0, identical: 0 };
  const matcher = new VolumeEntryMatcher(catalog, volume.id, volume.name);
  const staging = `${volume.id}.part`;
  const entryOptions = { acceptIdentical: options.acceptIdentical };
  const tar = await openVolumeTar(
    options.path,
    options.compression,
    options.encrypted,
    options.identities,
  );
  for await (const { entry, body } of readTar(tar)) {
    options.signal?.throwIfAborted();
    entrySegments(entry.path);
    const match = matcher.next(entry);
    const record = match.kind === "own" ? match.record : undefined;
    if (
      !record || !RESTORABLE_STATES.has(record.state) || !selection.matches(record.archivePath)
    ) {
      await body.cancel();
      continue;
    }
    let outcome: WriteOutcome;
    if (entry.type === "directory") {
      await body.cancel();
      outcome = await writer.directory(entry.path);
      if (outcome.kind === "identical") outcome = { kind: "written" }; // merging into a folder is fine
    } else if (entry.type === "symlink") {
      await body.cancel();
      if (entry.linkName === undefined) {
        throw new VolumeMismatchError(`symlink ${JSON.stringify(entry.path)} has no target`);
      }
      outcome = await writer.symlink(entry.path, entry.linkName, staging, entryOptions);
    } else {
      outcome = await writer.file(
        entry.path,
        body,
        { size: entry.size, mode: entry.mode, mtime: entry.mtime },
        staging,
        entryOptions,
      );
      if (outcome.kind === "written") report.bytes += entry.size;
    }
    switch (outcome.kind) {
      case "written":
        report.written++;
        break;
      case "identical":
        report.identical++;
        break;
      case "exists":
        options.onProblem({
          path: entry.path,
          kind: "exists",
          message: "already exists; left alone (use --overwrite to replace it)",
        });
        break;
      case "blocked":
        options.onProblem({ path: entry.path, kind: "blocked", message: outcome.reason });
        break;
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
}
