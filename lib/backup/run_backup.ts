/**
 * Runs (or resumes) a backup from its catalog: scan, plan, then build volumes one after another
 * while upload workers send finished ones. At most `uploadWorkers` volumes upload at once, sharing
 * `uploadWorkers` part uploads in flight (one volume alone takes them all), and at most
 * `uploadWorkers + 1` finished volumes wait on local disk. Every step is committed to the
 * catalog before the next, so the run can be killed at any moment and resumed.
 */
import { createHash } from "node:crypto";
import type {
  Catalog,
  FileToRecord,
  PlanEntry,
  PlannedVolume,
  VolumeRecord,
} from "../catalog/catalog.ts";
import { BaseMatcher, deletedSinceBase } from "./base_match.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { backupFolderKey, objectKey, volumeName } from "../archive/layout.ts";
import { resetVolume } from "../catalog/volume_state.ts";
import { VolumePlanner } from "./plan_volumes.ts";
import type { ScanOptions } from "../archive/scan.ts";
import { scanInWorker } from "../archive/scan_thread.ts";
import {
  AccessDeniedError,
  type Storage,
  StorageError,
  supportsMultipart,
} from "../storage/storage.ts";
import type { Reporter } from "../archive/report.ts";
import type { BackupProgress } from "./progress.ts";
import { formatBytes } from "../archive/units.ts";
import {
  type BuildObserver,
  buildVolume,
  type BuiltVolume,
  localVolumePath,
  writesOnThread,
} from "./build_volume.ts";
import { LocalVolumeLostError, uploadVolume } from "./upload_volume.ts";
import { Slots, WorkQueue } from "../memory/concurrency.ts";
import { BufferSlots } from "../memory/buffer_slots.ts";
import { CompressorPool } from "../archive/compress_pool.ts";
import { VolumeWriterThread } from "../archive/volume_writer.ts";
import { crashPoint } from "./crash_point.ts";
import { quotePath } from "../archive/quote_path.ts";

/** What a backup run needs besides its catalog. */
export interface BackupContext {
  catalog: Catalog;
  storage: Storage;
  log: Reporter;
  progress: BackupProgress;
  /** Paths the scan must never take (state database, logs, work folder). */
  skipPaths: string[];
  /** This backup's own volume files in an OUTPUT_TAR folder, which the scan must never take. */
  ownVolumes?: ScanOptions["ownVolumes"];
  signal: AbortSignal;
  /** The base of an incremental backup (open, locked), needed while the scan runs. */
  base?: Catalog;
}

/** Runs the backup recorded in `ctx.catalog` to the end. Throws on a failure (resumable). */
export async function runBackup(ctx: BackupContext): Promise<void> {
  const { catalog, progress } = ctx;
  const settings = catalog.settings();
  await Deno.mkdir(settings.workDir, { recursive: true, mode: 0o700 });

  const recorded = catalog.phase() === "scanning" ? await scanAndPlan(ctx, settings) : undefined;
  if (catalog.phase() === "done") return;

  const volumes = catalog.ownVolumes();
  progress.phase = "packing";
  progress.volumesTotal = volumes.length;
  const { count, bytes } = recorded ?? recordedFiles(catalog);
  progress.filesTotal = count;
  progress.bytesTotal = bytes;
  for (const v of volumes) {
    if (v.state === "uploaded") {
      progress.volumesBuilt++;
      progress.volumesUploaded++;
      progress.uploadedBytes += v.size ?? 0;
      progress.uploadedBefore += v.size ?? 0;
      progress.builtBytes += v.size ?? 0;
    }
  }
  progress.bytesDone = volumes.filter((v) => v.state === "uploaded").reduce(
    (n, v) => n + v.plannedBytes,
    0,
  );

  const pending = volumes.filter((v) => v.state === "planned" || v.state === "built");
  const recipients = catalog.recipients();
  const uploads = new WorkQueue<VolumeRecord>();
  const localRoom = new Slots(settings.uploadWorkers + 1);
  // Parts in flight, all volumes together: memory held <= uploadWorkers x part size.
  const partSlots = new BufferSlots(settings.uploadWorkers);
  const failure = new AbortController();
  const signal = AbortSignal.any([ctx.signal, failure.signal]);
  let firstError: unknown;
  const fail = (error: unknown) => {
    // Once the run is stopped, what fails next (a stream cancelled under a build, ...) is the
    // stop's doing: the run ends with the stop's reason.
    if (firstError === undefined) firstError = ctx.signal.aborted ? ctx.signal.reason : error;
    failure.abort(error);
  };

  // Workers start with the first segment to compress: none for a run whose volumes are all built.
  const pool = settings.compression === "none" ? undefined : new CompressorPool();
  // Started with the first volume built, as the pool's workers are.
  const writer = new VolumeWriterThread();
  const build: VolumeBuild = { ctx, settings, recipients, signal, pool, writer };
  const workers = Array.from({ length: settings.uploadWorkers }, async () => {
    for (let volume = await uploads.next(); volume; volume = await uploads.next()) {
      if (signal.aborted) continue;
      try {
        await uploadOne(
          ctx,
          settings,
          volume,
          signal,
          partSlots,
          () => rebuildVolume(build, volume),
        );
      } catch (error) {
        fail(error);
      } finally {
        localRoom.release();
      }
    }
  });

  try {
    for (const volume of pending) {
      await localRoom.acquire(signal);
      const ready = await prepareVolume(build, volume);
      uploads.push(ready);
    }
  } catch (error) {
    fail(error);
  } finally {
    uploads.close();
  }
  // The threads stay until the uploads end: a volume lost during its upload is built again.
  await Promise.all(workers).finally(() => {
    pool?.close();
    writer.close();
  });
  if (firstError !== undefined) throw firstError;
  ctx.signal.throwIfAborted();

  await abortOrphanUploads(ctx.storage, settings, ctx.log);
  catalog.setPhase("done");
  progress.phase = "done";
  if (settings.workDirIsTemporary) await Deno.remove(settings.workDir).catch(() => {});
}

/**
 * Aborts unfinished multipart uploads left in the backup's folder. Once every volume is uploaded,
 * any that remain were started by a run killed before it could record them, and would otherwise
 * be billed for ever. Credentials without the permission to list or abort them do not fail the
 * backup, which is complete: one warning says what is left and which permission is missing.
 */
export async function abortOrphanUploads(
  storage: Storage,
  settings: BackupSettings,
  log: Reporter,
): Promise<void> {
  if (!supportsMultipart(storage)) return;
  const folder = backupFolderKey(settings);
  try {
    for (const upload of await storage.listMultipartUploads(folder)) {
      log.info(
        `aborting an unfinished upload left by an interrupted run: ${quotePath(upload.key)}`,
      );
      await storage.abortMultipartUpload(upload.key, upload.uploadId);
    }
  } catch (error) {
    if (error instanceof StorageError && error.kind === "unsupported") {
      log.warn(`cleanup of unfinished uploads skipped: ${error.message}`);
      return;
    }
    if (!(error instanceof AccessDeniedError)) throw error;
    log.warn(
      `unfinished uploads left by interrupted runs may remain in ${folder}, billed until ` +
        `aborted (a lifecycle rule AbortIncompleteMultipartUpload also removes them): ` +
        error.message,
    );
  }
}

/** How many files (and folders, links) the catalog records, and their bytes. */
interface RecordedFiles {
  count: number;
  bytes: number;
}

/** The totals of every file row, read from the catalog (one pass over the table). */
function recordedFiles(catalog: Catalog): RecordedFiles {
  const totals = catalog.fileTotals();
  return {
    count: totals.reduce((n, t) => n + t.count, 0),
    bytes: totals.reduce((n, t) => n + t.bytes, 0),
  };
}

/**
 * Scans the sources into the catalog and plans the volumes. Returns the totals of the rows it
 * recorded when they are all the catalog holds (a full backup): counted on the way, they spare a
 * pass over the table (0.1 s for 300,000 files). An incremental's also records deleted paths.
 */
async function scanAndPlan(
  ctx: BackupContext,
  settings: BackupSettings,
): Promise<RecordedFiles | undefined> {
  const { catalog, log, progress } = ctx;
  catalog.clearScan();
  const incremental = catalog.baseBackupId() !== undefined;
  if (incremental && !ctx.base) throw new Error("an incremental backup scans with its base");
  const matcher = ctx.base ? new BaseMatcher(ctx.base, settings.rehash === true) : undefined;
  const firstNumber = matcher?.copyVolumes(catalog) ?? 1;
  // Each file is recorded with its id and planned volume, never updated after.
  const planner = new VolumePlanner(settings, firstNumber);
  let nextId = catalog.nextFileId();
  const recorded: RecordedFiles = { count: 0, bytes: 0 };
  log.info(`scanning ${settings.sourceDirs.join(", ")}`);
  const totals = await scanInWorker({
    sourceDirs: settings.sourceDirs,
    excludes: settings.excludes,
    skipPaths: ctx.skipPaths,
    ownVolumes: ctx.ownVolumes,
    signal: ctx.signal,
    onProgress: (t) => {
      progress.filesTotal = t.entries;
      progress.bytesTotal = t.bytes;
    },
  }, {
    addFiles: (scanned) => {
      const files: FileToRecord[] = matcher ? matcher.match(scanned) : scanned;
      for (const file of files) {
        file.id = nextId++;
        if (!file.held) file.volumeId = planner.place(file as PlanEntry);
        recorded.bytes += file.size;
      }
      catalog.insertFiles(files, planner.changed());
      recorded.count += files.length;
      crashPoint("after-scan-batch");
    },
    addProblem: (problem) => {
      catalog.recordProblem(problem);
      log.warn(`skipped ${quotePath(problem.path)}: ${problem.message}`);
    },
  });
  let plan = planner.finish();
  if (ctx.base) {
    catalog.dropUnusedChainVolumes();
    const deleted = catalog.recordDeletedPaths(deletedSinceBase(ctx.base, catalog));
    const held = catalog.db.prepare(
      "SELECT COUNT(*) AS n FROM files WHERE volume_id IS NOT NULL",
    ).get() as { n: number };
    log.info(
      `incremental on ${catalog.baseBackupId()}: ${held.n} entries unchanged, ${deleted} ` +
        `path${deleted === 1 ? "" : "s"} deleted since`,
    );
    // The deleted-paths list needs a volume even when nothing else changed.
    if (plan.length === 0) plan = [emptyVolume(settings, firstNumber)];
  }
  catalog.savePlan(plan);
  log.info(
    `found ${totals.entries} entries, ${formatBytes(totals.bytes)}` +
      (totals.problems > 0 ? `, ${totals.problems} skipped` : "") +
      `; ${plan.length} volume${plan.length === 1 ? "" : "s"} of up to ` +
      formatBytes(settings.volumeSize),
  );
  return ctx.base ? undefined : recorded;
}

/** A volume holding no file (an incremental's deleted-paths list only). */
function emptyVolume(settings: BackupSettings, id: number): PlannedVolume {
  const name = volumeName(settings, id);
  return {
    id,
    name,
    objectKey: objectKey(settings, name),
    storageClass: settings.storageClass,
    firstFileId: 0,
    lastFileId: -1,
    plannedBytes: 0,
  };
}

/** What building the run's volumes needs besides the volume: the same for each of them. */
interface VolumeBuild {
  ctx: BackupContext;
  settings: BackupSettings;
  recipients: string[];
  signal: AbortSignal;
  pool: CompressorPool | undefined;
  writer: VolumeWriterThread;
}

/** Builds a volume's local file from the start (a `.partial` file left by an earlier try goes). */
async function buildLocalFile(
  build: VolumeBuild,
  volume: VolumeRecord,
  observer: BuildObserver,
): Promise<BuiltVolume> {
  const { ctx, settings } = build;
  await Deno.remove(`${localVolumePath(settings, volume)}.partial`).catch(() => {});
  return await buildVolume(
    ctx.catalog,
    settings,
    volume,
    build.recipients,
    observer,
    build.signal,
    { pool: build.pool, writer: writesOnThread(volume) ? build.writer : undefined },
  );
}

/**
 * Makes sure a volume's local file is there and intact: a volume built by an earlier run is
 * re-checked against its SHA-256 (and rebuilt if the file is gone or differs); a planned volume
 * is built. The packed files and bytes count towards the run's progress.
 */
async function prepareVolume(build: VolumeBuild, volume: VolumeRecord): Promise<VolumeRecord> {
  const { catalog, log, progress } = build.ctx;
  if (volume.state === "built") {
    const path = localVolumePath(build.settings, volume);
    if (await fileMatches(path, volume.size!, volume.sha256!)) return volume;
    log.warn(`local copy of ${volume.name} is missing or damaged: building it again`);
    await forgetBuild(build.ctx, volume);
  }
  const before = progress.bytesDone;
  const beforeFiles = progress.filesDone;
  const built = await buildLocalFile(build, volume, {
    onBytes: (bytes, entries) => {
      progress.bytesDone = before + bytes;
      progress.filesDone = beforeFiles + entries;
    },
  });
  progress.volumesBuilt++;
  progress.builtBytes += built.size;
  crashPoint("after-volume-built");
  log.toFile(
    "info",
    `built ${volume.name}: ${built.entries} entries, ${
      formatBytes(built.size)
    }, sha256 ${built.sha256}`,
  );
  return catalog.volume(volume.id);
}

/**
 * Returns a built volume whose local file is lost to `planned`, so that it is built again; its
 * unfinished multipart upload, if any, is aborted (its parts are of the lost bytes).
 */
async function forgetBuild(ctx: BackupContext, volume: VolumeRecord): Promise<void> {
  if (volume.uploadId && supportsMultipart(ctx.storage)) {
    await ctx.storage.abortMultipartUpload(volume.objectKey, volume.uploadId).catch((error) => {
      if (!(error instanceof StorageError && error.kind === "not-found")) throw error;
    });
  }
  resetVolume(ctx.catalog, volume.id);
}

/**
 * Builds a volume again whose local file was lost during its upload; returns the new record. Its
 * files and bytes were counted when it was first built, so the progress is left as it is.
 */
async function rebuildVolume(build: VolumeBuild, volume: VolumeRecord): Promise<VolumeRecord> {
  const { catalog, log } = build.ctx;
  await forgetBuild(build.ctx, catalog.volume(volume.id));
  const built = await buildLocalFile(build, catalog.volume(volume.id), {});
  log.toFile("info", `built ${volume.name} again: sha256 ${built.sha256}`);
  return catalog.volume(volume.id);
}

/**
 * Uploads a built volume. A local file that vanishes (or is cut short) on the way is built again
 * once, with `rebuild`, and sent again; if it is lost a second time the run fails, and a resume
 * builds it again: a lost file is never retried as it is.
 */
async function uploadOne(
  ctx: BackupContext,
  settings: BackupSettings,
  volume: VolumeRecord,
  signal: AbortSignal,
  partSlots: BufferSlots,
  rebuild: () => Promise<VolumeRecord>,
): Promise<void> {
  const { catalog, log, progress } = ctx;
  let counted = 0;
  const send = (record: VolumeRecord) =>
    uploadVolume(
      catalog,
      ctx.storage,
      record,
      localVolumePath(settings, record),
      {
        onBytes: (uploaded) => {
          progress.uploadedBytes += uploaded - counted;
          counted = uploaded;
        },
        onResume: (finished, total) =>
          log.info(
            finished < total
              ? `continuing upload of ${volume.name}: ${finished} of ${total} parts already sent`
              : `completing upload of ${volume.name}: all ${total} parts were already sent`,
          ),
      },
      signal,
      partSlots,
    );
  progress.uploadStarting();
  try {
    await send(volume);
  } catch (error) {
    if (!(error instanceof LocalVolumeLostError)) throw error;
    log.warn(`${error.message}: building it again`);
    progress.uploadedBytes -= counted;
    counted = 0;
    volume = await rebuild();
    await send(volume);
  }
  progress.volumesUploaded++;
  crashPoint("after-volume-uploaded");
  log.info(
    `uploaded ${volume.name} (${formatBytes(volume.size!)}) to ${volume.objectKey} ` +
      `[${volume.storageClass}]`,
  );
}

async function fileMatches(path: string, size: number, sha256: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    if (info.size !== size) return false;
    const hash = createHash("sha256");
    using file = await Deno.open(path, { read: true });
    const buffer = new Uint8Array(1 << 20);
    for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
      hash.update(buffer.subarray(0, n));
    }
    return hash.digest("hex") === sha256;
  } catch {
    return false;
  }
}
