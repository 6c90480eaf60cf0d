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

/** Parsed `glacier resume` options; connection settings override the stored ones. */
export interface ResumeOptions extends ConnectionSettings {
  stateDb: string;
  uploadWorkers?: number;
}

/** The `resume` command. */
export function resumeCommand(setExitCode: (code: number) => void): Command {
  const command = stateDbCommand("resume", "finish an interrupted backup")
    .option("--num-upload-workers <n>", "volumes uploaded at once")
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
      return await runBackupOnTerminal(catalog, log);
    });
  } finally {
    catalog.close();
  }
}
