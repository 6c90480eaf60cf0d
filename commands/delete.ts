/** `glacier delete --files NAME... STATEDB`: deletes volumes from the bucket and the catalog. */
import { Command } from "commander";
import { connectionSettings, repeatable, withConnectionOptions } from "../lib/cli/options.ts";
import { dirname, resolve } from "node:path";
import { Catalog } from "../lib/catalog/catalog.ts";
import { ExitCode, exitCodeOf } from "../lib/cli/exit.ts";
import { errorLine, UsageError } from "../lib/archive/errors.ts";
import { withCommandLog } from "../lib/cli/command_log.ts";
import { terminalConfirm } from "../lib/cli/confirm.ts";
import { InvalidBucketError } from "../lib/storage/open.ts";
import { loadPrices } from "../lib/pricing/price_file.ts";
import {
  isFolderBucket,
  openBackupStorage,
  type StorageOverrides,
} from "../lib/backup/open_storage.ts";
import { deleteVolumes } from "../lib/manage/delete.ts";

/** Parsed `glacier delete` options; connection settings override the stored ones. */
export interface DeleteOptions extends StorageOverrides {
  stateDb: string;
  /** Volume names (e.g. `000001_output.tar.zst.age`) or their object keys. */
  names: string[];
  /** Delete without asking. */
  yes: boolean;
  /** Delete volumes that other backups still need. */
  force: boolean;
  /** Folder of the other backups' state databases (default: STATEDB's folder). */
  stateDir?: string;
}

/** The `delete` command. */
export function deleteCommand(setExitCode: (code: number) => void): Command {
  const command = new Command("delete")
    .description("delete volumes from the bucket and mark them deleted in the state database")
    .usage("--files NAME [NAME...] STATEDB [options]")
    .argument("[NAME_THEN_STATEDB...]", "more volume names, then the backup's state database")
    .requiredOption(
      "--files <name>",
      "volume name to delete, e.g. 000001_output.tar.zst.age (repeatable)",
      repeatable,
    )
    .option("--yes", "do not ask for confirmation")
    .option("--force", "delete volumes that other (incremental) backups still need")
    .option(
      "--state-dir <dir>",
      "folder of the other backups' state databases (default: STATEDB's)",
    )
    .action(async (words: string[], raw: Record<string, unknown>) => {
      setExitCode(await deleteCommandRun(parseDeleteOptions(words, raw)));
    });
  return withConnectionOptions(command, {
    bucket: "bucket to delete from (overrides the one stored)",
  });
}

/**
 * Validates the raw values. `--files` takes one name each time; the last positional word is the
 * state database and any before it are more names, so the original tool's `--files A B STATEDB`
 * reads as `--files A` and the words `B STATEDB`.
 */
export function parseDeleteOptions(
  words: string[],
  raw: Record<string, unknown>,
): DeleteOptions {
  const db = words.at(-1);
  const names = [...(raw.files as string[]), ...words.slice(0, -1)];
  if (db === undefined || names.length === 0) {
    throw new UsageError("usage: glacier delete --files NAME... STATEDB [--yes] [--force]");
  }
  return {
    stateDb: db,
    names,
    yes: raw.yes === true,
    force: raw.force === true,
    stateDir: raw.stateDir as string | undefined,
    bucket: raw.bucket as string | undefined,
    ...connectionSettings(raw),
  };
}

/**
 * Deletes the named volumes; returns 0 when done (or declined), 2 for unknown names, a refusal
 * without a terminal or a bad bucket, 3 when the bucket failed.
 */
export async function deleteCommandRun(options: DeleteOptions): Promise<number> {
  const catalog = Catalog.open(options.stateDb);
  try {
    return await withCommandLog(dirname(resolve(options.stateDb)), "delete", async (log) => {
      const settings = catalog.settings();
      const prices = await loadPrices();
      try {
        const { storage, bucket } = openBackupStorage(settings, options, log);
        return exitCodeOf(
          await deleteVolumes({
            catalog,
            storage,
            names: options.names,
            assumeYes: options.yes,
            chargesApply: !isFolderBucket(bucket),
            prices,
            log,
            confirm: terminalConfirm(),
            stateDir: options.stateDir,
            force: options.force,
          }),
        );
      } catch (error) {
        if (error instanceof UsageError) throw error;
        log.error(errorLine(error));
        return error instanceof InvalidBucketError ? ExitCode.Usage : ExitCode.Failed;
      }
    });
  } finally {
    catalog.close();
  }
}
