/** `glacier backup`: packs, compresses, encrypts and uploads folders as a new backup. */
import { Command } from "commander";
import { basename, dirname, join, resolve } from "node:path";
import { Catalog } from "../lib/catalog/catalog.ts";
import type { BackupSettings, Compression, ObjectLockSettings } from "../lib/catalog/settings.ts";
import { backupFolderKey, backupIdFor, stateDbName } from "../lib/archive/layout.ts";
import { InvalidBucketError, openStorage } from "../lib/storage/open.ts";
import { pendingUploads, type Storage } from "../lib/storage/storage.ts";
import { exists } from "../lib/storage/exists.ts";
import { withRetry } from "../lib/storage/retry.ts";
import { generateIdentity, recipientFromIdentity, validateRecipient } from "../lib/crypto/age.ts";
import { runBackupSession } from "../lib/backup/session.ts";
import { encryptionOf, openBackupStorage } from "../lib/backup/open_storage.ts";
import { BackupProgress, renderProgress } from "../lib/backup/progress.ts";
import { objectLockLine, requireObjectLock } from "../lib/backup/object_lock.ts";
import { ProgressDisplay } from "../lib/cli/progress.ts";
import { listenForInterrupts } from "../lib/cli/interrupt.ts";
import type { Logger } from "../lib/cli/log.ts";
import { withCommandLog } from "../lib/cli/command_log.ts";
import { ExitCode, exitCodeOf } from "../lib/cli/exit.ts";
import { UsageError } from "../lib/archive/errors.ts";
import { forecastBackup, forecastLines } from "../lib/pricing/backup_forecast.ts";
import { loadPrices } from "../lib/pricing/price_file.ts";
import { type CollapsedSources, collapseSources } from "../lib/archive/sources.ts";
import {
  compressionOption,
  connectionSettings,
  countOption,
  prefixOption,
  repeatable,
  storageClassOption,
  volumeSizeOption,
  withConnectionOptions,
} from "../lib/cli/options.ts";
import { quotePath } from "../lib/archive/quote_path.ts";
import { BaseMatcher } from "../lib/backup/base_match.ts";
import {
  type BaseBackup,
  checkBase,
  checkChain,
  type IncrementalRequest,
  latestBase,
  openBase,
} from "../lib/backup/base.ts";
import type { ConnectionSettings } from "../lib/storage/open.ts";
import { readableByFolderNote } from "../lib/storage/owner_only.ts";

/** Parsed `glacier backup` options. */
export interface BackupOptions extends ConnectionSettings {
  srcDirs: string[];
  bucket: string;
  outputTar?: string;
  volumeSize: number;
  compression: Compression;
  encrypt: boolean;
  recipients: string[];
  uploadWorkers: number;
  storageClass: string;
  excludes: string[];
  prefix: string;
  /** `--sse kms`: SSE-KMS on every object, with `sseKmsKeyId` if given. */
  sse?: "kms";
  sseKmsKeyId?: string;
  /** `--object-lock-days` / `--object-lock-mode`: Object Lock retention of every object. */
  objectLock?: ObjectLockSettings;
  stateDir: string;
  /** `--base STATEDB|latest`: an incremental backup on top of that one. */
  base?: string;
  /** `--rehash`: compare file contents with the base, not change times and file ids. */
  rehash: boolean;
  /** Whether `--compression` and `--encrypt`/`--no-encrypt` were given (or defaulted). */
  given: { compression: boolean; encrypt: boolean };
}

/** The `backup` command; its action resolves to the exit code. */
export function backupCommand(setExitCode: (code: number) => void): Command {
  const command = new Command("backup")
    .description("back folders up to a bucket as a new backup")
    .argument("[OUTPUT_TAR]", "folder and base name of local volumes (default: a temporary folder)")
    .requiredOption("--src-dirs <dir...>", "folders to back up")
    .option("--volume-size <size>", "target size of a volume (e.g. 64MiB, 2GiB)", "1GiB")
    .option("--compression <kind>", "zstd, gzip, gz or none (default: zstd)")
    .option("--encrypt", "encrypt volumes with age (the default)")
    .option("--no-encrypt", "do not encrypt volumes")
    .option("--recipient <age1key>", "encrypt to this age public key (repeatable)", repeatable)
    .option("--num-upload-workers <n>", "uploads at once (volumes, and parts of one volume)", "2")
    .option("--storage-class <class>", "S3 storage class of volumes", "DEEP_ARCHIVE")
    .option("--test-run", "use the STANDARD class (for servers without Glacier classes)")
    .option("--exclude <glob>", "leave out matching paths (repeatable)", repeatable)
    .option("--prefix <prefix>", "key prefix in the bucket")
    .option("--sse <kind>", "server-side encryption of every object: kms (SSE-KMS)")
    .option("--sse-kms-key-id <id>", "KMS key of --sse kms (default: the account's aws/s3 key)")
    .option("--object-lock-days <n>", "lock every object (S3 Object Lock) for N days after upload")
    .option("--object-lock-mode <mode>", "governance or compliance (with --object-lock-days)")
    .option("--state-dir <dir>", "folder for the state database and logs", ".")
    .option("--dry-run", "only scan, and print the expected volumes and costs")
    .option("--base <statedb>", "incremental backup on top of this finished one, or latest")
    .option("--rehash", "with --base: compare file contents, not change times and inodes")
    .action(async (outputTar: string | undefined, raw: Record<string, unknown>) => {
      const options = parseBackupOptions(outputTar, raw);
      setExitCode(raw.dryRun ? await dryRunBackup(options) : await backup(options));
    });
  return withConnectionOptions(command);
}

/** Validates raw command-line values into `BackupOptions`. */
export function parseBackupOptions(
  outputTar: string | undefined,
  raw: Record<string, unknown>,
): BackupOptions {
  const recipients = (raw.recipient as string[] | undefined) ?? [];
  // --encrypt (the original tool's spelling) and --no-encrypt: the last one given wins.
  const encrypt = raw.encrypt !== false;
  if (!encrypt && recipients.length > 0) {
    throw new UsageError("--recipient and --no-encrypt cannot be used together");
  }
  for (const r of recipients) {
    try {
      validateRecipient(r);
    } catch (error) {
      throw new UsageError(`--recipient "${r}": ${(error as Error).message}`);
    }
  }
  const sse = sseOption(raw.sse as string | undefined, raw.sseKmsKeyId as string | undefined);
  const objectLock = objectLockOption(
    raw.objectLockDays as string | undefined,
    raw.objectLockMode as string | undefined,
  );
  if (objectLock && /^file:/i.test((raw.bucket as string).trim())) {
    throw new UsageError(
      `--object-lock-days needs an S3 bucket with Object Lock; ${raw.bucket} is a folder`,
    );
  }
  return {
    srcDirs: (raw.srcDirs as string[]).map((dir) => resolve(dir)),
    bucket: raw.bucket as string,
    outputTar,
    volumeSize: volumeSizeOption(raw.volumeSize as string),
    compression: compressionOption((raw.compression as string | undefined) ?? "zstd"),
    encrypt,
    recipients,
    uploadWorkers: countOption("--num-upload-workers", raw.numUploadWorkers as string, 64),
    storageClass: raw.testRun ? "STANDARD" : storageClassOption(raw.storageClass as string),
    excludes: (raw.exclude as string[] | undefined) ?? [],
    prefix: prefixOption((raw.prefix as string | undefined) ?? ""),
    ...connectionSettings(raw),
    ...sse,
    objectLock,
    stateDir: resolve(raw.stateDir as string),
    base: baseOption(raw.base as string | undefined),
    rehash: rehashOption(raw),
    given: { compression: raw.compression !== undefined, encrypt: raw.encrypt !== undefined },
  };
}

/** `--base`: `latest` or a state database path (resolved). */
function baseOption(base: string | undefined): string | undefined {
  if (base === undefined) return undefined;
  if (base.trim() === "") throw new UsageError("--base is empty");
  return base === "latest" ? base : resolve(base);
}

function rehashOption(raw: Record<string, unknown>): boolean {
  if (raw.rehash && raw.base === undefined) throw new UsageError("--rehash needs --base");
  return raw.rehash === true;
}

/** The longest lock offered: 100 years (S3 takes retention dates far in the future). */
const MAX_OBJECT_LOCK_DAYS = 36_500;

/** `--object-lock-days` and `--object-lock-mode`, checked. */
function objectLockOption(
  days: string | undefined,
  mode: string | undefined,
): ObjectLockSettings | undefined {
  if (days === undefined) {
    if (mode !== undefined) throw new UsageError("--object-lock-mode needs --object-lock-days");
    return undefined;
  }
  const lockMode = (mode ?? "governance").trim().toUpperCase();
  if (lockMode !== "GOVERNANCE" && lockMode !== "COMPLIANCE") {
    throw new UsageError(
      `--object-lock-mode ${JSON.stringify(mode)}: use governance or compliance`,
    );
  }
  return { mode: lockMode, days: countOption("--object-lock-days", days, MAX_OBJECT_LOCK_DAYS) };
}

/** `--sse` and `--sse-kms-key-id`, checked. */
function sseOption(
  sse: string | undefined,
  keyId: string | undefined,
): Pick<BackupOptions, "sse" | "sseKmsKeyId"> {
  if (sse === undefined) {
    if (keyId !== undefined) throw new UsageError("--sse-kms-key-id needs --sse kms");
    return {};
  }
  if (sse.toLowerCase() !== "kms") {
    throw new UsageError(`--sse ${JSON.stringify(sse)}: the one kind offered is kms (SSE-KMS)`);
  }
  if (keyId !== undefined && keyId.trim() === "") {
    throw new UsageError("--sse-kms-key-id is empty");
  }
  return { sse: "kms", sseKmsKeyId: keyId?.trim() };
}

/** Starts a new backup; returns the exit code. */
export async function backup(options: BackupOptions): Promise<number> {
  const sources = await realSourceDirs(options.srcDirs);
  // The bucket is checked before anything is written: a mistyped folder, a missing S3 bucket or
  // an invalid name leaves no state database and no log behind.
  const storage = await checkedBucket(options);
  const base = options.base === undefined
    ? undefined
    : await incrementalBase(options, sources.dirs, storage);
  try {
    return await newBackup(options, sources, storage, base);
  } finally {
    base?.close();
  }
}

/** What `checkBase` holds the base against. */
function baseRequest(options: BackupOptions): IncrementalRequest {
  return {
    bucket: options.bucket,
    prefix: options.prefix,
    recipients: options.recipients,
    compression: options.given.compression ? options.compression : undefined,
    encrypt: options.given.encrypt ? options.encrypt : undefined,
  };
}

/** Finds, locks and checks the base of `backup --base`, before anything is written. */
async function incrementalBase(
  options: BackupOptions,
  sourceDirs: string[],
  storage: Storage,
): Promise<BaseBackup> {
  const path = options.base === "latest"
    ? latestBase(options.stateDir, { sourceDirs, bucket: options.bucket, prefix: options.prefix })
    : options.base!;
  const base = openBase(path);
  try {
    checkBase(base, baseRequest(options));
    await checkChain(base, storage);
  } catch (error) {
    base.close();
    throw error;
  }
  return base;
}

async function newBackup(
  options: BackupOptions,
  sources: CollapsedSources,
  storage: Storage,
  base: BaseBackup | undefined,
): Promise<number> {
  await Deno.mkdir(options.stateDir, { recursive: true });
  return await withCommandLog(options.stateDir, "backup", async (log) => {
    for (const note of sources.notes) log.info(note);
    const { backupId, path } = await newStateDbPath(options, storage);
    const work = await workLocation(options.outputTar, backupId);
    const baseSettings = base?.catalog.settings();
    // An incremental keeps its base's key, encryption and compression: a chain uses one.
    const identity = base
      ? base.catalog.identity()
      : options.encrypt && options.recipients.length === 0
      ? generateIdentity()
      : undefined;
    const recipients = base
      ? base.catalog.recipients()
      : identity
      ? [recipientFromIdentity(identity)]
      : options.recipients;
    const settings: BackupSettings = {
      backupId,
      sourceDirs: sources.dirs,
      bucket: options.bucket,
      prefix: options.prefix,
      workDir: work.dir,
      workDirIsTemporary: work.temporary,
      baseName: work.baseName,
      volumeSize: options.volumeSize,
      compression: baseSettings?.compression ?? options.compression,
      encrypt: baseSettings?.encrypt ?? options.encrypt,
      storageClass: options.storageClass,
      uploadWorkers: options.uploadWorkers,
      excludes: options.excludes,
      endpoint: options.endpoint,
      region: options.region,
      profile: options.profile,
      sse: options.sse,
      sseKmsKeyId: options.sseKmsKeyId,
      objectLock: options.objectLock,
      ...(base ? { baseStateDb: base.path, rehash: options.rehash } : {}),
    };
    const catalog = Catalog.create(
      path,
      settings,
      { identity, recipients },
      base ? { chain: base.catalog.chain(), fingerprint: base.fingerprint } : undefined,
    );
    log.info(
      `backup ${backupId} to ${options.bucket}: state database ${path}` +
        (baseSettings ? ` (incremental on ${baseSettings.backupId})` : ""),
    );
    if (catalog.notOwnerOnly) {
      // The files of a file:// bucket are limited the same way, and fail the same way.
      const what = options.bucket.startsWith("file:")
        ? `the state database (like the files written to ${options.bucket})`
        : "the state database";
      log.info(readableByFolderNote(what, catalog.notOwnerOnly));
    }
    // The output contract: the state database's path is the first line on stdout, printed as soon
    // as it exists, so that a script has it even when the run fails (`glacier resume "$db"`).
    Deno.stdout.writeSync(new TextEncoder().encode(`${path}\n`));
    try {
      return await runBackupOnTerminal(catalog, log, base?.catalog);
    } finally {
      catalog.close();
    }
  });
}

/**
 * Runs the catalog's backup in front of the user (`backup` and `resume`): progress on the
 * terminal, Ctrl-C as a clean stop and a second Ctrl-C as a stop at once; returns the exit code.
 */
export async function runBackupOnTerminal(
  catalog: Catalog,
  log: Logger,
  base?: Catalog,
): Promise<number> {
  const interrupts = listenForInterrupts();
  const progress = new BackupProgress();
  const display = new ProgressDisplay((width) => renderProgress(progress, width), log);
  try {
    const { storage } = openBackupStorage(catalog.settings(), {}, log, interrupts.signal);
    const outcome = await runBackupSession({
      catalog,
      storage,
      log,
      progress,
      signal: interrupts.signal,
      stopNow: interrupts.again,
      base,
    });
    return exitCodeOf(outcome);
  } finally {
    display.stop();
    interrupts.stop();
  }
}

/**
 * `backup --dry-run`: scans the sources and prints the volumes and costs a backup would have.
 * Writes nothing (no state database, no log) and does not touch the bucket.
 */
export async function dryRunBackup(options: BackupOptions): Promise<number> {
  const sources = await realSourceDirs(options.srcDirs);
  for (const note of sources.notes) console.error(note);
  const prices = await loadPrices();
  const base = options.base === undefined ? undefined : openBase(
    options.base === "latest"
      ? latestBase(options.stateDir, {
        sourceDirs: sources.dirs,
        bucket: options.bucket,
        prefix: options.prefix,
      })
      : options.base,
  );
  try {
    if (base) checkBase(base, baseRequest(options));
    return await printForecast(options, sources, prices, base);
  } finally {
    base?.close();
  }
}

async function printForecast(
  options: BackupOptions,
  sources: CollapsedSources,
  prices: Awaited<ReturnType<typeof loadPrices>>,
  base: BaseBackup | undefined,
): Promise<number> {
  const matcher = base ? new BaseMatcher(base.catalog, options.rehash) : undefined;
  const forecast = await forecastBackup({
    sourceDirs: sources.dirs,
    excludes: options.excludes,
    skipPaths: [join(options.stateDir, "logs", "main.log")]
      .concat(options.outputTar ? [dirname(resolve(options.outputTar))] : []),
    volumeSize: options.volumeSize,
    encrypt: options.encrypt,
    base: base && matcher
      ? {
        backupId: base.catalog.settings().backupId,
        unchanged: (file) => matcher.match([file])[0].held !== undefined,
      }
      : undefined,
  });
  for (const problem of forecast.problemSamples) {
    console.error(`warn: would skip ${quotePath(problem.path)}: ${problem.message}`);
  }
  const lines = forecastLines(
    forecast,
    { ...options, fileBucket: /^file:/i.test(options.bucket) },
    prices,
  ).concat(options.objectLock ? [objectLockLine(options.objectLock)] : []);
  Deno.stdout.writeSync(new TextEncoder().encode(lines.join("\n") + "\n"));
  return ExitCode.Ok;
}

async function checkSourceDir(dir: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "does not exist"
      : error instanceof Deno.errors.PermissionDenied
      ? "is not readable"
      : (error as Error).message;
    throw new UsageError(`source folder ${dir} ${reason}`);
  }
  if (!info.isDirectory) throw new UsageError(`source ${dir} is not a folder`);
  try {
    for await (const _ of Deno.readDir(dir)) break;
  } catch {
    throw new UsageError(`source folder ${dir} is not readable`);
  }
}

/**
 * Checks the source folders and returns their real paths: a source given through a symlink is
 * backed up as the folder it points to (stored as a link, its contents could not be extracted).
 * A folder given twice (in any spelling) or inside another source is taken once, with a note.
 */
async function realSourceDirs(dirs: string[]): Promise<CollapsedSources> {
  for (const dir of dirs) await checkSourceDir(dir);
  return collapseSources(await Promise.all(dirs.map((dir) => Deno.realPath(dir))));
}

/**
 * A fresh backup id and state database path. The id is the current second; it is taken if this
 * state folder has its database or the bucket already has a folder of that name (another machine
 * or state folder backing up to the same bucket and prefix): then the next second is tried.
 */
async function newStateDbPath(
  options: BackupOptions,
  storage: Storage,
): Promise<{ backupId: string; path: string }> {
  for (;;) {
    const backupId = backupIdFor(new Date());
    const path = join(options.stateDir, stateDbName(backupId));
    const taken = await exists(path) || await folderInUse(storage, options.prefix, backupId);
    if (!taken) return { backupId, path };
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * The bucket of a new backup, checked for access (a few attempts: a wrong endpoint fails at
 * start-up); an invalid name is a usage error, a missing or unreadable bucket a storage error.
 */
async function checkedBucket(options: BackupOptions): Promise<Storage> {
  let storage: Storage;
  try {
    storage = withRetry(
      openStorage(options.bucket, { ...options, encryption: encryptionOf(options) }),
    );
  } catch (error) {
    if (error instanceof InvalidBucketError) throw new UsageError(error.message);
    throw error;
  }
  await storage.checkAccess();
  // Before the state database exists: a backup that asked for a lock never runs without one.
  if (options.objectLock) await requireObjectLock(storage);
  return storage;
}

/** How long the look for a taken backup id may take before the run goes on without it. */
const FOLDER_CHECK_TIMEOUT_MS = 10_000;

/** True when the bucket holds anything under `[prefix/]backupId/`; unknown (false) on errors. */
async function folderInUse(storage: Storage, prefix: string, backupId: string): Promise<boolean> {
  const folder = backupFolderKey({ prefix, backupId });
  const look = async () => {
    for await (const _ of storage.listObjects(folder)) return true;
    return (await pendingUploads(storage, folder)).length > 0;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const giveUp = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), FOLDER_CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([look(), giveUp]);
  } catch {
    // The run reports an unreachable or missing bucket itself, resumably, once it has started.
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Where volumes are built: OUTPUT_TAR's folder and name, or a new temporary folder. */
async function workLocation(
  outputTar: string | undefined,
  backupId: string,
): Promise<{ dir: string; baseName: string; temporary: boolean }> {
  if (outputTar) {
    const path = resolve(outputTar);
    const baseName = basename(path);
    if (baseName === "" || baseName === "." || baseName === "..") {
      throw new UsageError(`OUTPUT_TAR "${outputTar}" must end in a file name, like /tmp/out.tar`);
    }
    return { dir: dirname(path), baseName, temporary: false };
  }
  const dir = await Deno.makeTempDir({ prefix: `glacier-${backupId}-` });
  return { dir, baseName: "backup.tar", temporary: true };
}
