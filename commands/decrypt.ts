/** `glacier decrypt STATEDB FOLDER`: decrypt volumes downloaded by hand. (Placeholder until the command lands.) */
import { Command } from "commander";
import { UsageError } from "../lib/cli/exit.ts";

/** The `decrypt` command. */
export function decryptCommand(_setExitCode: (code: number) => void): Command {
  return new Command("decrypt")
    .description("decrypt volumes downloaded by hand (not available yet)")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError("glacier decrypt is not available yet");
    });
}
