/** `glacier sync STATEDB`: reconciles the catalog with what is really in the bucket. */
import type { Command } from "commander";
import { stateDbCommand, withConnectionOptions } from "../lib/cli/options.ts";
import { dirname, resolve } from "node:path";
import { Catalog } from "../lib/catalog/catalog.ts";
import { ExitCode, exitCodeOf } from "../lib/cli/exit.ts";
import { errorLine } from "../lib/archive/errors.ts";
import { withCommandLog } from "../lib/cli/command_log.ts";
import { InvalidBucketError } from "../lib/storage/open.ts";
import { backupFolderKey } from "../lib/archive/layout.ts";
import { openBackupStorage, type StorageOverrides } from "../lib/backup/open_storage.ts";
import { syncCatalog } from "../lib/manage/sync.ts";

/** Parsed `glacier sync` options; connection settings override the stored ones. */
export interface SyncOptions extends StorageOverrides {
  stateDb: string;
}

/** The `sync` command. */
export function syncCommand(setExitCode: (code: number) => void): Command {
  const command = stateDbCommand(
    "sync",
    "reconcile the state database with what is really in the bucket",
  )
    .action(async (stateDb: string, raw: StorageOverrides) => {
      setExitCode(await sync({ stateDb, ...raw }));
    });
  return withConnectionOptions(command, {
    bucket: "bucket to compare with (overrides the one stored)",
  });
}

/**
 * Reconciles the backup of `options.stateDb` with its bucket; returns 0 when they agree, 1 when
 * differences were found (and recorded), 2 for a bad bucket, 3 when the bucket cannot be listed.
 */
export async function sync(options: SyncOptions): Promise<number> {
  const catalog = Catalog.open(options.stateDb);
  try {
    return await withCommandLog(dirname(resolve(options.stateDb)), "sync", async (log) => {
      const settings = catalog.settings();
      try {
        const { storage } = openBackupStorage(settings, options, log);
        await storage.checkAccess();
        return exitCodeOf(await syncCatalog(catalog, storage, backupFolderKey(settings), log));
      } catch (error) {
        log.error(errorLine(error));
        return error instanceof InvalidBucketError ? ExitCode.Usage : ExitCode.Failed;
      }
    });
  } finally {
    catalog.close();
  }
}
