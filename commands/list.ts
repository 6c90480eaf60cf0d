/** `glacier list`: list the backups in a bucket. (Placeholder until the command lands.) */
import { Command } from "commander";
import { UsageError } from "../lib/cli/exit.ts";

/** The `list` command. */
export function listCommand(_setExitCode: (code: number) => void): Command {
  return new Command("list")
    .description("list the backups in a bucket (not available yet)")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError("glacier list is not available yet");
    });
}
