/** `glacier verify STATEDB`: checks that every volume is in the bucket. (Placeholder.) */
import { Command } from "commander";
import { UsageError } from "../lib/cli/exit.ts";

/** The `verify` command. */
export function verifyCommand(_setExitCode: (code: number) => void): Command {
  return new Command("verify")
    .description("check the bucket and the catalog (not available yet)")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError("glacier verify is not available yet");
    });
}
