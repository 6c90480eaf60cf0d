/** `glacier decrypt STATEDB FOLDER`: decrypts volumes downloaded by hand. */
import type { Command } from "commander";
import { stateDbCommand } from "../lib/cli/options.ts";
import { dirname, resolve } from "node:path";
import { Catalog } from "../lib/catalog/catalog.ts";
import { AgeError, parseIdentityFile } from "../lib/crypto/age.ts";
import { ExitCode, exitCodeOf } from "../lib/cli/exit.ts";
import { UsageError } from "../lib/archive/errors.ts";
import { withCommandLog } from "../lib/cli/command_log.ts";
import { listenForInterrupts } from "../lib/cli/interrupt.ts";
import { decryptFolder } from "../lib/manage/decrypt.ts";

/** Parsed `glacier decrypt` options. */
export interface DecryptOptions {
  stateDb: string;
  folder: string;
  /** An age identity file; required when the backup keeps no key of its own. */
  identityFile?: string;
}

/** The `decrypt` command. */
export function decryptCommand(setExitCode: (code: number) => void): Command {
  return stateDbCommand(
    "decrypt",
    "decrypt volumes downloaded by hand; writes NAME.tar.zst beside each",
  )
    .argument("<FOLDER>", "folder holding the downloaded volumes")
    .option("--identity <file>", "age identity file (default: the key in the state database)")
    .action(async (stateDb: string, folder: string, raw: { identity?: string }) => {
      setExitCode(await decrypt({ stateDb, folder, identityFile: raw.identity }));
    });
}

/**
 * Decrypts the volumes of `options.stateDb` found in `options.folder`. Exit codes: 0 all found
 * decrypted, 1 some volumes not in the folder, 2 bad input (wrong or missing key), 3 a volume
 * damaged or not writable, or interrupted.
 */
export async function decrypt(options: DecryptOptions): Promise<number> {
  const catalog = Catalog.open(options.stateDb);
  const interrupt = listenForInterrupts();
  try {
    return await withCommandLog(dirname(resolve(options.stateDb)), "decrypt", async (log) => {
      const settings = catalog.settings();
      if (!settings.encrypt) {
        const kind = settings.compression === "none" ? "tar" : "compressed tar";
        log.info(
          `backup ${settings.backupId} is not encrypted: its volumes are plain ${kind} files; ` +
            "nothing to decrypt",
        );
        return ExitCode.Ok;
      }
      await checkFolder(options.folder);
      return exitCodeOf(
        await decryptFolder({
          catalog,
          folder: resolve(options.folder),
          identities: await identitiesFor(catalog, options.identityFile),
          log,
          signal: interrupt.signal,
        }),
      );
    });
  } finally {
    interrupt.stop();
    catalog.close();
  }
}

/** The identities to decrypt with: from `--identity FILE`, else the backup's own key. */
async function identitiesFor(catalog: Catalog, identityFile?: string): Promise<string[]> {
  if (identityFile !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(identityFile);
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound ? "no such file" : String(error);
      throw new UsageError(`cannot read identity file ${identityFile}: ${reason}`);
    }
    try {
      return parseIdentityFile(text);
    } catch (error) {
      if (error instanceof AgeError) throw new AgeError(`${identityFile}: ${error.message}`);
      throw error;
    }
  }
  const identity = catalog.identity();
  if (identity) return [identity];
  const recipients = catalog.recipients();
  throw new UsageError(
    `this backup was encrypted to your own keys (${recipients.join(", ")}) and holds no secret ` +
      "key: pass --identity FILE",
  );
}

async function checkFolder(folder: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(folder);
  } catch {
    throw new UsageError(`folder ${folder} does not exist`);
  }
  if (!info.isDirectory) throw new UsageError(`${folder} is not a folder`);
}
