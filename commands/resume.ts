/** `glacier resume STATEDB`: finishes an interrupted backup from its last checkpoint. */
import type { Command } from "commander";
import { dirname, resolve } from "node:path";
import { Catalog } from "../lib/catalog/catalog.ts";
import { runBackupOnTerminal } from "./backup.ts";
import { withCommandLog } from "../lib/cli/command_log.ts";
import {
  connectionSettings,
  countOption,
  stateDbCommand,
  withConnectionOptions,
} from "../lib/cli/options.ts";
import type { ConnectionSettings } from "../lib/storage/open.ts";
import { type BaseBackup, openBase } from "../lib/backup/base.ts";
import { UsageError } from "../lib/archive/errors.ts";
import { existsSync } from "../lib/storage/exists.ts";

/** Parsed `glacier resume` options; connection settings override the stored ones. */
export interface ResumeOptions extends ConnectionSettings {
  stateDb: string;
  uploadWorkers?: number;
}

/** The `resume` command. */
export function resumeCommand(setExitCode: (code: number) => void): Command {
  const command = stateDbCommand("resume", "finish an interrupted backup")
    .option("--num-upload-workers <n>", "uploads at once (volumes, and parts of one volume)")
    .action(async (stateDb: string, raw: Record<string, string | undefined>) => {
      setExitCode(
        await resume({
          stateDb,
          ...connectionSettings(raw),
          uploadWorkers: raw.numUploadWorkers === undefined
            ? undefined
            : countOption("--num-upload-workers", raw.numUploadWorkers, 64),
        }),
      );
    });
  return withConnectionOptions(command, {});
}

/**
 * The base of an unfinished incremental, locked, and checked to be the very backup the
 * incremental started on (not resumed, deleted from or replaced since).
 */
function openUnchangedBase(catalog: Catalog): BaseBackup {
  const settings = catalog.settings();
  const path = settings.baseStateDb;
  const name = `base ${catalog.baseBackupId()} of incremental ${settings.backupId}`;
  if (!path || !existsSync(path)) {
    throw new UsageError(`${name}: its state database ${path ?? "(unknown)"} is gone`);
  }
  const base = openBase(path);
  if (base.fingerprint !== catalog.meta("base_fingerprint")) {
    base.close();
    throw new UsageError(
      `${name} has changed since the incremental started (volumes deleted or marked missing): ` +
        `start a new incremental backup`,
    );
  }
  return base;
}

/** Resumes the backup of `options.stateDb`; returns the exit code. */
export async function resume(options: ResumeOptions): Promise<number> {
  const catalog = Catalog.open(options.stateDb);
  try {
    return await withCommandLog(dirname(resolve(options.stateDb)), "resume", async (log) => {
      if (catalog.phase() === "done") {
        log.info(`backup ${catalog.settings().backupId} is already complete; checking the bucket`);
      }
      const settings = catalog.settings();
      catalog.updateSettings({
        ...settings,
        endpoint: options.endpoint ?? settings.endpoint,
        region: options.region ?? settings.region,
        profile: options.profile ?? settings.profile,
        uploadWorkers: options.uploadWorkers ?? settings.uploadWorkers,
      });
      log.info(`resuming backup ${settings.backupId} to ${settings.bucket}`);
      if (catalog.baseBackupId() === undefined || catalog.phase() === "done") {
        return await runBackupOnTerminal(catalog, log);
      }
      const base = openUnchangedBase(catalog);
      try {
        return await runBackupOnTerminal(catalog, log, base.catalog);
      } finally {
        base.close();
      }
    });
  } finally {
    catalog.close();
  }
}
