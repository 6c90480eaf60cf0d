/** `glacier sync STATEDB`: reconcile the catalog with the bucket. (Placeholder until the command lands.) */
import { Command } from "commander";
import { UsageError } from "../lib/cli/exit.ts";

/** The `sync` command. */
export function syncCommand(_setExitCode: (code: number) => void): Command {
  return new Command("sync")
    .description("reconcile the catalog with the bucket (not available yet)")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError("glacier sync is not available yet");
    });
}
