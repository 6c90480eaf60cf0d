/** `glacier key export STATEDB`: prints the backup's age identity. */
import { Command } from "commander";
import { Catalog } from "../lib/catalog/catalog.ts";
import { ExitCode, UsageError } from "../lib/cli/exit.ts";

/** The `key` command group. */
export function keyCommand(setExitCode: (code: number) => void): Command {
  const key = new Command("key").description("manage the backup's encryption key");
  key.command("export")
    .description("print the backup's age identity (AGE-SECRET-KEY-1...) on stdout")
    .argument("<STATEDB>", "state database of the backup")
    .action((stateDb: string) => {
      setExitCode(exportKey(stateDb));
    });
  return key;
}

/** Writes the identity of the backup in `stateDb` to stdout, as an age identity file. */
export function exportKey(stateDb: string): number {
  const catalog = Catalog.open(stateDb);
  try {
    const identity = catalog.identity();
    if (!identity) {
      const recipients = catalog.recipients();
      throw new UsageError(
        recipients.length > 0
          ? `this backup was encrypted to your own keys (${recipients.join(", ")}); ` +
            "it holds no secret key"
          : "this backup is not encrypted; it has no key",
      );
    }
    const settings = catalog.settings();
    const text = `# glacier backup ${settings.backupId}\n` +
      `# public key: ${catalog.recipients()[0] ?? ""}\n${identity}\n`;
    Deno.stdout.writeSync(new TextEncoder().encode(text));
    return ExitCode.Ok;
  } finally {
    catalog.close();
  }
}
