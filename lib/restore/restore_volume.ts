/**
 * Restores one readable volume: downloads it into the staging folder, checks its SHA-256 (one
 * more download if it does not match), extracts the wanted entries, deletes the download, and
 * records the volume as extracted for the job when every wanted entry went in. The download is
 * staged under a name made from the volume's number, never from its name in the catalog, and is
 * deleted when the volume is refused (damaged, unsafe or not matching the catalog); only an
 * interrupted download is kept, for the next run to continue.
 *
 * A volume in a `file:` bucket that only this user can write is not copied: the decoding worker
 * opens it where it lies, hashes it through that handle and decodes it from the same handle only
 * if its size and SHA-256 are the catalog's, so that no file is written from a volume before it
 * is proved to be the backup's (copying 539 MB into staging first cost a third of a restore's
 * time). One that others can write (or whose owner the system does not tell: Windows) is copied
 * into staging as from S3: its bytes could change between the check and the decoding.
 */
import { join } from "node:path";
import { keyProblem } from "../storage/local.ts";
import type { Catalog } from "../catalog/catalog.ts";
import { recordExtracted } from "../catalog/restore_state.ts";
import { TarFormatError } from "../archive/tar_reader.ts";
import { formatBytes, formatDuration } from "../archive/units.ts";
import type { Reporter } from "../archive/report.ts";
import type { Storage } from "../storage/storage.ts";
import { ChecksumError, downloadVerified } from "./download.ts";
import {
  type EntryProblem,
  type ExtractOptions,
  type ExtractReport,
  extractVolume,
} from "./extract_volume.ts";
import type { VolumePlan } from "./plan.ts";
import { type RestoreWriter, UnsafePathError } from "./safe_writer.ts";
import type { Selection } from "./selection.ts";
import type { RestoreProgress } from "./progress.ts";
import { VolumeMismatchError } from "./volume_entries.ts";
import { ZstdFrameError } from "../archive/zstd_frames.ts";
import { type FileIdentity, VolumeDecoder } from "../archive/volume_decoder.ts";
import { onlyOursToWrite } from "../archive/volume_check.ts";
import { sameInode } from "../storage/same_inode.ts";

/** What restoring volumes needs, shared by all of a run's volumes. */
export interface VolumeRestoreContext {
  catalog: Catalog;
  storage: Storage;
  writer: RestoreWriter;
  selection: Selection;
  identities: string[];
  jobId: number;
  /** The job was started by an earlier run: entries already in place count as restored. */
  resumed: boolean;
  log: Reporter;
  signal: AbortSignal;
  onProblem: (problem: EntryProblem) => void;
  /** Counters a display may show: bytes downloaded, volumes and bytes extracted. */
  progress?: RestoreProgress;
  /**
   * The folder of a `file:` bucket: its volumes that only this user can write are read where
   * they lie (not downloaded); the others are copied into staging first.
   */
  bucketFolder?: string;
}

/** A `file:` bucket's volume of this size or more is hashed while it is decoded (see below). */
export const PARALLEL_CHECK_BYTES = 16 * 1024 * 1024;

/** Restores the wanted entries of one volume; returns what the extraction did. */
export async function restoreVolume(
  ctx: VolumeRestoreContext,
  plan: VolumePlan,
): Promise<ExtractReport> {
  const { log } = ctx;
  const volume = plan.volume;
  if (ctx.bucketFolder !== undefined) {
    const inPlace = await readableInPlace(ctx.bucketFolder, volume.objectKey);
    if (inPlace) return await restoreInPlace(ctx, plan, inPlace);
    log.info(`${volume.name} can be written by others: it is copied before it is checked`);
  }
  const path = join(ctx.writer.stagingDir, stagedDownloadName(volume.id));
  const progress = ctx.progress;
  let counted = 0;
  const onBytes = (done: number) => {
    if (progress) progress.downloadedBytes += done - counted;
    counted = done;
  };
  const download = () =>
    downloadVerified({
      storage: ctx.storage,
      key: volume.objectKey,
      size: volume.size!,
      sha256: volume.sha256!,
      path,
      signal: ctx.signal,
      onBytes,
      onRetry: (message, delayMs) =>
        log.warn(`${message}; retrying in ${formatDuration(delayMs / 1000)}`),
    });
  let clean = true;
  let report: ExtractReport;
  // The decoding worker starts while the volume downloads (its start is then off the clock).
  const decoder = new VolumeDecoder();
  try {
    try {
      await download();
    } catch (error) {
      if (!(error instanceof ChecksumError)) throw error;
      log.warn(`${error.message}; downloading it again`);
      await download();
    }
    report = await extract(ctx, plan, path, decoder, () => clean = false);
  } catch (error) {
    if (isVolumeFailure(error)) await Deno.remove(path).catch(() => {});
    throw error;
  } finally {
    decoder.close();
  }
  await Deno.remove(path).catch(() => {});
  return settle(ctx, plan, report, clean);
}

/**
 * Restores a volume of a `file:` bucket from where it lies. One worker hashes it while another
 * decodes it; until the hash has matched the catalog's (and both workers are shown to have read
 * the same file: device and inode), the extraction only stages the entries' content (see
 * `extractVolume`'s `verified`). A volume small enough that its hash takes no time to speak of
 * (a second worker costs its start and ~10 MiB) the decoder hashes first, through the handle it
 * then decodes. Nothing is staged but part files, and nothing in the bucket is ever removed.
 */
async function restoreInPlace(
  ctx: VolumeRestoreContext,
  plan: VolumePlan,
  path: string,
): Promise<ExtractReport> {
  const volume = plan.volume;
  const key = volume.objectKey;
  const check = { key, size: volume.size!, sha256: volume.sha256! };
  let clean = true;
  const spoiled = () => clean = false;
  const decoder = new VolumeDecoder();
  let report: ExtractReport;
  if (check.size < PARALLEL_CHECK_BYTES) {
    try {
      report = await extract(ctx, plan, path, decoder, spoiled, { check });
    } finally {
      decoder.close();
    }
  } else {
    const hasher = new VolumeDecoder();
    let decoded: (identity: FileIdentity) => void = () => {};
    const opened = new Promise<FileIdentity>((resolve) => decoded = resolve);
    const hashed = hasher.verify(path, check);
    const verified = Promise.all([hashed, opened]).then(([a, b]) => {
      if (!sameInode(a, b)) {
        throw new ChecksumError(`${key} was replaced while it was read`);
      }
    });
    // Awaited below (or by the extraction): never left unhandled.
    verified.catch(() => {});
    try {
      report = await extract(ctx, plan, path, decoder, spoiled, { verified, onOpened: decoded });
    } catch (error) {
      // A forged volume may fail to decode before its hash is done: the hash says why.
      if (!(error instanceof ChecksumError)) await hashed;
      throw error;
    } finally {
      decoder.close();
      hasher.close();
    }
  }
  if (ctx.progress) ctx.progress.downloadedBytes += volume.size!;
  return settle(ctx, plan, report, clean);
}

/**
 * The path of a `file:` bucket's volume when it may be read where it lies: only this user can
 * write it (`onlyOursToWrite`; the decoding worker checks again on the handle it opens).
 * Undefined otherwise, or when it cannot be looked at: the download path then copies it, or
 * says what is wrong.
 */
async function readableInPlace(folder: string, key: string): Promise<string | undefined> {
  const problem = keyProblem(key);
  if (problem) throw new VolumeMismatchError(`cannot read ${key} from the bucket: ${problem}`);
  const path = join(folder, ...key.split("/"));
  try {
    return onlyOursToWrite(await Deno.stat(path)) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Extracts the wanted entries of the volume file at `path`; `spoiled` hears of any problem. */
function extract(
  ctx: VolumeRestoreContext,
  plan: VolumePlan,
  path: string,
  decoder: VolumeDecoder,
  spoiled: () => void,
  checking: Pick<ExtractOptions, "check" | "verified" | "onOpened"> = {},
): Promise<ExtractReport> {
  const settings = ctx.catalog.settings();
  return extractVolume({
    catalog: ctx.catalog,
    volume: plan.volume,
    path,
    ...checking,
    compression: settings.compression,
    encrypted: settings.encrypt,
    identities: ctx.identities,
    selection: ctx.selection,
    writer: ctx.writer,
    acceptIdentical: ctx.resumed,
    signal: ctx.signal,
    decoder,
    onProblem: (problem) => {
      spoiled();
      ctx.onProblem(problem);
    },
  });
}

/** Counts an extracted volume, and records it as done for the job when it went in cleanly. */
function settle(
  ctx: VolumeRestoreContext,
  plan: VolumePlan,
  report: ExtractReport,
  clean: boolean,
): ExtractReport {
  const volume = plan.volume;
  if (ctx.progress) {
    ctx.progress.volumesDone++;
    ctx.progress.extractedBytes += report.bytes;
  }
  // A volume with entries left alone is fetched again by a rerun (with --overwrite, say).
  if (clean) recordExtracted(ctx.catalog, ctx.jobId, volume.id);
  ctx.log.info(
    `restored ${volume.name}: ${report.written} entries, ${formatBytes(report.bytes)}` +
      (report.identical > 0 ? ` (${report.identical} already in place)` : ""),
  );
  return report;
}

/** The staging file name of a volume's download: made by the program, never from the catalog. */
export function stagedDownloadName(volumeId: number): string {
  return `volume-${volumeId}.download`;
}

/** Errors that spoil one volume but not the others (damaged, unsafe or unexpected content). */
export function isVolumeFailure(error: unknown): boolean {
  return error instanceof ChecksumError || error instanceof VolumeMismatchError ||
    error instanceof UnsafePathError || error instanceof TarFormatError ||
    error instanceof ZstdFrameError;
}
