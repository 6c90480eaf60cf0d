/**
 * glacier: backs folders up to Amazon S3 Glacier and gets them back.
 * Parses the command line, dispatches to commands/, and is the only place that exits.
 */
import { Command, CommanderError } from "commander";
import { backupCommand } from "./commands/backup.ts";
import { resumeCommand } from "./commands/resume.ts";
import { keyCommand } from "./commands/key.ts";
import { showCommand } from "./commands/show.ts";
import { syncCommand } from "./commands/sync.ts";
import { deleteCommand } from "./commands/delete.ts";
import { forgetCommand } from "./commands/forget.ts";
import { decryptCommand } from "./commands/decrypt.ts";
import { restoreCommand } from "./commands/restore.ts";
import { listCommand } from "./commands/list.ts";
import { estimateCommand } from "./commands/estimate.ts";
import { verifyCommand } from "./commands/verify.ts";
import { applyHelpStyle } from "./lib/cli/help.ts";
import { errorLine, ExitCode, exitCodeFor } from "./lib/cli/exit.ts";

/** The program's version. */
export const VERSION = "0.1.0";

/** What `glacier --version` prints: the program's version and the Deno it runs on. */
export function versionLine(): string {
  return `glacier ${VERSION} (Deno ${Deno.version.deno})`;
}

/** Runs the command line `args` and resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const setExitCode = (code: number) => {
    exitCode = code;
  };
  const program = new Command("glacier")
    .description("Back folders up to Amazon S3 Glacier, and get them back.")
    .version(versionLine())
    .exitOverride()
    .addCommand(backupCommand(setExitCode))
    .addCommand(resumeCommand(setExitCode))
    .addCommand(keyCommand(setExitCode))
    .addCommand(showCommand(setExitCode))
    .addCommand(syncCommand(setExitCode))
    .addCommand(deleteCommand(setExitCode))
    .addCommand(forgetCommand(setExitCode))
    .addCommand(decryptCommand(setExitCode))
    .addCommand(restoreCommand(setExitCode))
    .addCommand(listCommand(setExitCode))
    .addCommand(estimateCommand(setExitCode))
    .addCommand(verifyCommand(setExitCode));
  for (const command of [program, ...program.commands]) {
    applyHelpStyle(command.exitOverride());
    for (const sub of command.commands) applyHelpStyle(sub.exitOverride());
  }
  try {
    await program.parseAsync(args, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version requests end here too; commander has printed what was asked.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    // Commands with a log have written this line and the exit code to it (lib/cli/command_log.ts).
    console.error(`error: ${errorLine(error)}`);
    if (Deno.env.get("GLACIER_DEBUG") && error instanceof Error) console.error(error.stack);
    return exitCodeFor(error);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
