/**
 * `glacier restore [STATEDB] --to DIR`: gets files back. Thaws only the volumes holding the
 * wanted files, waits for them (a rerun continues where the last one stopped), then downloads,
 * checks, decrypts and extracts just those files. Without STATEDB, `--bucket` and `--backup-id`
 * fetch the catalog copy kept in the bucket.
 */
import { Command } from "commander";
import { dirname, resolve } from "node:path";
import { isBackupId } from "../lib/archive/layout.ts";
import { Catalog } from "../lib/catalog/catalog.ts";
import { parseIdentityFile } from "../lib/crypto/age.ts";
import { exitCodeOf } from "../lib/cli/exit.ts";
import { errorLine, UsageError } from "../lib/archive/errors.ts";
import { withCommandLog } from "../lib/cli/command_log.ts";
import { listenForInterrupts } from "../lib/cli/interrupt.ts";
import {
  connectionSettings,
  countOption,
  DEFAULT_THAW_DAYS,
  prefixOption,
  repeatable,
  withConnectionOptions,
} from "../lib/cli/options.ts";
import { terminalConfirm } from "../lib/cli/confirm.ts";
import { runRestoreSession } from "../lib/restore/session.ts";
import type { StorageOverrides } from "../lib/backup/open_storage.ts";
import { compileSelection } from "../lib/restore/selection.ts";
import { renderRestoreProgress, RestoreProgress } from "../lib/restore/progress.ts";
import { ProgressDisplay } from "../lib/cli/progress.ts";
import type { RestoreChoices } from "../lib/restore/run_restore.ts";
import type { RestoreTier } from "../lib/storage/storage.ts";

/** Parsed `glacier restore` options. */
export interface RestoreOptions extends StorageOverrides, RestoreChoices {
  /** The local state database; absent when the catalog copy in the bucket is used. */
  stateDb?: string;
  to: string;
  include: string[];
  exclude: string[];
  identityFiles: string[];
  backupId?: string;
  prefix: string;
  stateDir: string;
  downloadWorkers: number;
}

/** The `restore` command. */
export function restoreCommand(setExitCode: (code: number) => void): Command {
  const command = new Command("restore")
    .description("get files back: thaw, download, check, decrypt and extract them")
    .argument("[STATEDB]", "state database of the backup (or use --bucket and --backup-id)")
    .requiredOption("--to <dir>", "folder to restore into (created if missing)")
    .option("--include <pattern>", "restore only this path or glob (repeatable)", repeatable)
    .option("--exclude <pattern>", "leave out this path or glob (repeatable)", repeatable)
    .option(
      "--tier <tier>",
      "thaw tier: bulk, standard or expedited; expedited,standard falls back when AWS has no " +
        "expedited capacity",
      "standard",
    )
    .option("--days <n>", "days S3 keeps the thawed copies", DEFAULT_THAW_DAYS)
    .option("--no-wait", "request the thaws and exit; run the same command later to finish")
    .option("-y, --yes", "do not ask before requests that cost money")
    .option("--dry-run", "show what would be thawed and what it costs, then stop")
    .option("--overwrite", "replace existing files and symlinks in the destination")
    .option("--no-same-owner", "as root, do not restore owners (setuid/setgid bits are dropped)")
    .option("--identity <file>", "age identity file (backups made with --recipient)", repeatable)
    .option("--backup-id <id>", "without STATEDB: the backup (YYYYMMDD_HHMMSS) in --bucket")
    .option("--prefix <prefix>", "without STATEDB: the key prefix of the backup")
    .option("--state-dir <dir>", "without STATEDB: where the fetched state database goes", ".")
    .option("--num-download-workers <n>", "volumes downloaded and extracted at once", "2")
    .option("--prices <file>", "JSON price overrides for the cost shown (or GLACIER_PRICES_FILE)")
    .action(async (stateDb: string | undefined, raw: Record<string, unknown>) => {
      setExitCode(await restore(parseRestoreOptions(stateDb, raw)));
    });
  return withConnectionOptions(command, {
    bucket: "bucket to read from (default: the one in the state database)",
  });
}

/** Validates raw command-line values into `RestoreOptions`. */
export function parseRestoreOptions(
  stateDb: string | undefined,
  raw: Record<string, unknown>,
): RestoreOptions {
  const backupId = raw.backupId as string | undefined;
  const bucket = raw.bucket as string | undefined;
  const include = (raw.include as string[] | undefined) ?? [];
  const exclude = (raw.exclude as string[] | undefined) ?? [];
  if (stateDb === undefined && (backupId === undefined || bucket === undefined)) {
    const stateDbTaken = [...include, ...exclude].find(isStateDbFile);
    throw new UsageError(
      "give STATEDB, or --bucket and --backup-id to use the bucket's catalog copy" +
        (stateDbTaken === undefined ? "" : `; "${stateDbTaken}" was taken as a pattern`),
    );
  }
  if (stateDb !== undefined && backupId !== undefined) {
    throw new UsageError("give either STATEDB or --backup-id, not both");
  }
  if (backupId !== undefined && !isBackupId(backupId)) {
    throw new UsageError(`--backup-id must look like 20261127_031500, got "${backupId}"`);
  }
  const [tier, ...fallbackTiers] = tiersOption(raw.tier as string);
  return {
    stateDb,
    to: resolve(raw.to as string),
    include,
    exclude,
    tier,
    fallbackTiers,
    days: countOption("--days", raw.days as string, 3650),
    wait: raw.wait as boolean,
    yes: raw.yes === true,
    dryRun: raw.dryRun === true,
    overwrite: raw.overwrite === true,
    sameOwner: raw.sameOwner !== false,
    identityFiles: (raw.identity as string[] | undefined) ?? [],
    bucket,
    backupId,
    prefix: prefixOption((raw.prefix as string | undefined) ?? ""),
    stateDir: resolve(raw.stateDir as string),
    ...connectionSettings(raw),
    downloadWorkers: countOption("--num-download-workers", raw.numDownloadWorkers as string, 16),
    pricesFile: raw.prices as string | undefined,
  };
}

/** Whether `pattern` names an existing state database file (meant as STATEDB, read as a pattern). */
function isStateDbFile(pattern: string): boolean {
  if (!pattern.endsWith(".sqlite3")) return false;
  try {
    return Deno.statSync(pattern).isFile;
  } catch {
    return false;
  }
}

/** Parses `--tier`: bulk, standard or expedited, any case. */
export function tierOption(text: string): RestoreTier {
  const value = text.toLowerCase();
  if (value === "bulk") return "Bulk";
  if (value === "standard") return "Standard";
  if (value === "expedited") return "Expedited";
  throw new UsageError(`--tier must be bulk, standard or expedited, got "${text}"`);
}

/** Parses `--tier a[,b...]`: the tier to ask first, then those to fall back to, in order. */
export function tiersOption(text: string): RestoreTier[] {
  const tiers = text.split(",").map((part) => tierOption(part.trim()));
  if (new Set(tiers).size !== tiers.length) {
    throw new UsageError(`--tier "${text}" names a tier twice`);
  }
  return tiers;
}

/** Runs a restore; returns the exit code. */
export async function restore(options: RestoreOptions): Promise<number> {
  const identities = await readIdentities(options.identityFiles);
  // The state database is checked before anything is written next to it (the log). A dry run
  // only reads it; a real one holds its lock (one run at a time).
  // A real one's is checked for damage while the restore plans (run_restore.ts waits for it).
  const catalog = options.stateDb
    ? Catalog.open(options.stateDb, { readOnly: options.dryRun, checkLater: true })
    : undefined;
  const interrupt = listenForInterrupts();
  try {
    if (!options.stateDb) await Deno.mkdir(options.stateDir, { recursive: true });
    const logDir = options.stateDb ? dirname(resolve(options.stateDb)) : options.stateDir;
    return await withCommandLog(logDir, "restore", async (log) => {
      const signal = interrupt.signal;
      // The progress line starts with the downloads, after any question has been answered.
      const progress = new RestoreProgress();
      let display: ProgressDisplay | undefined;
      progress.onFetchStart = () =>
        display = new ProgressDisplay((width) => renderRestoreProgress(progress, width), log);
      const outcome = await runRestoreSession({
        catalog: catalog ?? {
          bucket: options.bucket!,
          connection: options,
          backupId: options.backupId!,
          prefix: options.prefix,
          stateDir: options.stateDir,
          readOnly: options.dryRun,
        },
        overrides: options,
        identities,
        request: {
          destination: options.to,
          selection: compileSelection(options.include, options.exclude),
          tier: options.tier,
          fallbackTiers: options.fallbackTiers,
          days: options.days,
          wait: options.wait,
          yes: options.yes,
          dryRun: options.dryRun,
          overwrite: options.overwrite,
          sameOwner: options.sameOwner,
          workers: options.downloadWorkers,
          pricesFile: options.pricesFile,
          progress,
        },
        log,
        signal,
        // Ctrl-C at the question stops the run (the signal listener is already in place).
        confirm: terminalConfirm(signal),
      }).finally(() => display?.stop());
      return exitCodeOf(outcome);
    });
  } finally {
    interrupt.stop();
    catalog?.close();
  }
}

async function readIdentities(files: string[]): Promise<string[]> {
  const identities: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      throw new UsageError(`cannot read identity file ${file}: ${errorLine(error)}`);
    }
    identities.push(...parseIdentityFile(text));
  }
  return identities;
}
