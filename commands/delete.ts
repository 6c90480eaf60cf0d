/** `glacier delete STATEDB`: delete volumes remotely and in the catalog. (Placeholder until the command lands.) */
import { Command } from "commander";
import { UsageError } from "../lib/cli/exit.ts";

/** The `delete` command. */
export function deleteCommand(_setExitCode: (code: number) => void): Command {
  return new Command("delete")
    .description("delete volumes remotely and in the catalog (not available yet)")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError("glacier delete is not available yet");
    });
}
