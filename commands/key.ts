/** `glacier key export STATEDB`: prints the backup's age identity. */
import { Command } from "commander";
import { Catalog } from "../lib/catalog/catalog.ts";
import { ExitCode } from "../lib/cli/exit.ts";
import { UsageError } from "../lib/archive/errors.ts";
import { readableByFolderNote, restrictToOwner } from "../lib/storage/owner_only.ts";

/** The `key` command group. */
export function keyCommand(setExitCode: (code: number) => void): Command {
  const key = new Command("key").description("manage the backup's encryption key");
  key.command("export")
    .description("print the backup's age identity (AGE-SECRET-KEY-1...) on stdout")
    .argument("<STATEDB>", "state database of the backup")
    .option("-o, --output <FILE>", "write the key to a new file (mode 0600) instead of stdout")
    .action((stateDb: string, options: { output?: string }) => {
      setExitCode(exportKey(stateDb, options.output));
    });
  return key;
}

/**
 * Writes the identity of the backup in `stateDb` as an age identity file: to stdout, or to a new
 * file `output` that only its owner can read (an existing file is never overwritten).
 */
export function exportKey(stateDb: string, output?: string): number {
  const catalog = Catalog.open(stateDb, { readOnly: true });
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
    const bytes = new TextEncoder().encode(text);
    if (output === undefined) {
      Deno.stdout.writeSync(bytes);
      return ExitCode.Ok;
    }
    try {
      // Created empty and limited to its owner first (Windows: an ACL), then the key goes in.
      Deno.writeFileSync(output, new Uint8Array(0), { createNew: true, mode: 0o600 });
      const notOwnerOnly = restrictToOwner(output);
      if (notOwnerOnly) console.error(readableByFolderNote(output, notOwnerOnly));
      Deno.writeFileSync(output, bytes);
    } catch (error) {
      throw new UsageError(`cannot write ${output}: ${(error as Error).message}`);
    }
    console.error(`wrote the key to ${output}; keep it safe and apart from the backup`);
    return ExitCode.Ok;
  } finally {
    catalog.close();
  }
}
