/** `glacier resume STATEDB`: finishes an interrupted backup from its last checkpoint. */
import { Command } from "commander";
import { dirname, resolve } from "node:path";
import { Catalog } from "../lib/catalog/catalog.ts";
import { runBackupOnTerminal } from "./backup.ts";
import { withCommandLog } from "../lib/cli/command_log.ts";
import { countOption, withConnectionOptions } from "../lib/cli/options.ts";

/** Parsed `glacier resume` options; connection settings override the stored ones. */
export interface ResumeOptions {
  stateDb: string;
  endpoint?: string;
  region?: string;
  profile?: string;
  uploadWorkers?: number;
}

/** The `resume` command. */
export function resumeCommand(setExitCode: (code: number) => void): Command {
  const command = new Command("resume")
    .description("finish an interrupted backup")
    .argument("<STATEDB>", "state database of the backup")
    .option("--num-upload-workers <n>", "volumes uploaded at once")
    .action(async (stateDb: string, raw: Record<string, string | undefined>) => {
      setExitCode(
        await resume({
          stateDb,
          endpoint: raw.endpoint,
          region: raw.region,
          profile: raw.profile,
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
