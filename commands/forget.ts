/**
 * `glacier forget --keep-last N [--keep-daily N] [--keep-monthly N]`: forgets the backups of the
 * state folder that the policy does not keep, deleting the volumes no kept backup needs.
 */
import { Command } from "commander";
import { resolve } from "node:path";
import { connectionSettings, prefixOption, withConnectionOptions } from "../lib/cli/options.ts";
import { exitCodeOf } from "../lib/cli/exit.ts";
import { UsageError } from "../lib/archive/errors.ts";
import { withCommandLog } from "../lib/cli/command_log.ts";
import { terminalConfirm } from "../lib/cli/confirm.ts";
import { loadPrices } from "../lib/pricing/price_file.ts";
import type { ConnectionSettings } from "../lib/storage/open.ts";
import { isFolderBucket, openBackupStorage } from "../lib/backup/open_storage.ts";
import { forgetBackups } from "../lib/manage/forget.ts";
import type { KeepPolicy } from "../lib/manage/forget_policy.ts";

/** Parsed `glacier forget` options. */
export interface ForgetOptions extends ConnectionSettings {
  stateDir: string;
  policy: KeepPolicy;
  forgetAll: boolean;
  dryRun: boolean;
  yes: boolean;
  /** Only the backups of this bucket and prefix. */
  bucket?: string;
  prefix?: string;
}

/** Largest accepted `--keep-*` count. */
const MAX_KEEP = 1_000_000;

/** The `forget` command. */
export function forgetCommand(setExitCode: (code: number) => void): Command {
  const command = new Command("forget")
    .description(
      "forget the backups a keep policy does not keep, deleting the volumes no kept backup needs",
    )
    .usage("--keep-last N [--keep-daily N] [--keep-monthly N] [--state-dir DIR] [options]")
    .option("--state-dir <dir>", "folder of the state databases", ".")
    .option("--keep-last <n>", "keep the N newest backups")
    .option("--keep-daily <n>", "keep the newest backup of each of the N newest days with backups")
    .option("--keep-monthly <n>", "keep the newest backup of each of the N newest months")
    .option("--forget-all", "forget every finished backup (when no --keep-* is given)")
    .option("--bucket <bucket>", "only the backups of this bucket")
    .option("--prefix <prefix>", "only the backups of this key prefix")
    .option("--dry-run", "say what would be forgotten and deleted, and change nothing")
    .option("--yes", "do not ask for confirmation")
    .action(async (raw: Record<string, unknown>) => {
      setExitCode(await forget(parseForgetOptions(raw)));
    });
  return withConnectionOptions(command, {});
}

/** Validates the raw values: counts are whole numbers, and some policy is given. */
export function parseForgetOptions(raw: Record<string, unknown>): ForgetOptions {
  const count = (name: string, value: unknown) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(String(value)) || n > MAX_KEEP) {
      throw new UsageError(`${name} must be a whole number from 0, got "${value}"`);
    }
    return n;
  };
  const policy: KeepPolicy = {
    keepLast: count("--keep-last", raw.keepLast),
    keepDaily: count("--keep-daily", raw.keepDaily),
    keepMonthly: count("--keep-monthly", raw.keepMonthly),
  };
  const forgetAll = raw.forgetAll === true;
  const given = Object.values(policy).some((n) => n !== undefined);
  if (forgetAll && given) {
    throw new UsageError("--forget-all keeps nothing: give it without --keep-* options");
  }
  if (!forgetAll && !given) {
    throw new UsageError(
      "usage: glacier forget --keep-last N [--keep-daily N] [--keep-monthly N] " +
        "[--state-dir DIR] [--dry-run] [--yes]",
    );
  }
  return {
    stateDir: resolve(raw.stateDir as string),
    policy,
    forgetAll,
    dryRun: raw.dryRun === true,
    yes: raw.yes === true,
    bucket: raw.bucket as string | undefined,
    prefix: raw.prefix === undefined ? undefined : prefixOption(raw.prefix as string),
    ...connectionSettings(raw),
  };
}

/** Runs `forget`; returns the exit code. */
export async function forget(options: ForgetOptions): Promise<number> {
  return await withCommandLog(options.stateDir, "forget", async (log) => {
    const prices = await loadPrices();
    const overrides = {
      endpoint: options.endpoint,
      region: options.region,
      profile: options.profile,
    };
    return exitCodeOf(
      await forgetBackups({
        stateDir: options.stateDir,
        policy: options.policy,
        forgetAll: options.forgetAll,
        dryRun: options.dryRun,
        assumeYes: options.yes,
        bucket: options.bucket,
        prefix: options.prefix,
        openStorage: (settings) => ({
          storage: openBackupStorage(settings, overrides, log).storage,
          chargesApply: !isFolderBucket(settings.bucket),
        }),
        prices,
        log,
        confirm: terminalConfirm(),
      }),
    );
  });
}
