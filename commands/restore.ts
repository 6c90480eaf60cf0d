/** `glacier restore STATEDB`: get files back. (Placeholder until the command lands.) */
import { Command } from "commander";
import { UsageError } from "../lib/cli/exit.ts";

/** The `restore` command. */
export function restoreCommand(_setExitCode: (code: number) => void): Command {
  return new Command("restore")
    .description("get files back (not available yet)")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError("glacier restore is not available yet");
    });
}
