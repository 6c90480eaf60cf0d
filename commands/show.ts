/** `glacier show STATEDB`: list what a backup holds. (Placeholder until the command lands.) */
import { Command } from "commander";
import { UsageError } from "../lib/cli/exit.ts";

/** The `show` command. */
export function showCommand(_setExitCode: (code: number) => void): Command {
  return new Command("show")
    .description("list what a backup holds (not available yet)")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError("glacier show is not available yet");
    });
}
