/** `glacier estimate STATEDB`: estimate storage and restore costs. (Placeholder until the command lands.) */
import { Command } from "commander";
import { UsageError } from "../lib/cli/exit.ts";

/** The `estimate` command. */
export function estimateCommand(_setExitCode: (code: number) => void): Command {
  return new Command("estimate")
    .description("estimate storage and restore costs (not available yet)")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError("glacier estimate is not available yet");
    });
}
