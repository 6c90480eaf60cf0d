/**
 * `glacier verify STATEDB`: checks the catalog, and either the bucket (every uploaded volume
 * present with its size, without reading its data; the catalog copy decrypted and compared) or, with `--local FOLDER`, volumes downloaded by
 * hand (SHA-256, age authentication, decompression). Exit 0: no problem; 1: problems found (one
 * line each on stdout); 2: bad usage; 3: the check could not be completed.
 */
import type { Command } from "commander";
import { connectionSettings, stateDbCommand, withConnectionOptions } from "../lib/cli/options.ts";
import { dirname, resolve } from "node:path";
import { Catalog } from "../lib/catalog/catalog.ts";
import { parseIdentityFile, recipientFromIdentity } from "../lib/crypto/age.ts";
import { ExitCode } from "../lib/cli/exit.ts";
import { errorLine, UsageError } from "../lib/archive/errors.ts";
import type { Logger } from "../lib/cli/log.ts";
import { ProgressDisplay } from "../lib/cli/progress.ts";
import { renderVerifyProgress, VerifyProgress } from "../lib/verify/progress.ts";
import { withCommandLog } from "../lib/cli/command_log.ts";
import { listenForInterrupts } from "../lib/cli/interrupt.ts";
import { openBackupStorage, type StorageOverrides } from "../lib/backup/open_storage.ts";
import { StorageError } from "../lib/storage/storage.ts";
import { verifyBackup, type VerifyTarget } from "../lib/verify/verify.ts";

/** Parsed `glacier verify` options. */
export interface VerifyOptions extends StorageOverrides {
  stateDb: string;
  /** Check volumes in this folder instead of the bucket. */
  local?: string;
  /** age identity file for the volumes or the catalog copy (default: the catalog's own). */
  identityFile?: string;
}

/** The `verify` command. */
export function verifyCommand(setExitCode: (code: number) => void): Command {
  const command = stateDbCommand(
    "verify",
    "check the catalog and the bucket, or volumes downloaded by hand (--local)",
  )
    .option("--local <folder>", "fully check the volumes in this folder instead of the bucket")
    .option("--identity <file>", "age identity file to decrypt with (default: the backup's key)")
    .action(async (stateDb: string, raw: Record<string, string | undefined>) => {
      setExitCode(
        await verify({
          stateDb,
          local: raw.local,
          identityFile: raw.identity,
          bucket: raw.bucket,
          ...connectionSettings(raw),
        }),
      );
    });
  return withConnectionOptions(command, { bucket: "bucket to check (overrides the one stored)" });
}

/** Verifies the backup of `options.stateDb`; returns the exit code. */
export async function verify(options: VerifyOptions): Promise<number> {
  const identities = options.identityFile === undefined
    ? undefined
    : await readIdentities(options.identityFile);
  if (options.local !== undefined) await checkFolder(options.local);
  const catalog = Catalog.open(options.stateDb, { readOnly: true });
  const interrupt = listenForInterrupts();
  try {
    return await withCommandLog(dirname(resolve(options.stateDb)), "verify", async (log) => {
      try {
        return await verifyWithLog(catalog, options, identities, log, interrupt.signal);
      } catch (error) {
        if (interrupt.signal.aborted) {
          log.error("verify interrupted before it finished");
          return ExitCode.Failed;
        }
        if (error instanceof StorageError) {
          log.error(`verify could not finish: ${errorLine(error)}`);
          return ExitCode.Failed;
        }
        throw error;
      }
    });
  } finally {
    interrupt.stop();
    catalog.close();
  }
}

/** Runs the checks with problems and the summary on stdout (and in the log). */
async function verifyWithLog(
  catalog: Catalog,
  options: VerifyOptions,
  identities: string[] | undefined,
  log: Logger,
  signal: AbortSignal,
): Promise<number> {
  const encoder = new TextEncoder();
  const print = (line: string) => {
    log.beforeTerminalWrite();
    Deno.stdout.writeSync(encoder.encode(`${line}\n`));
    log.toFile("info", line);
  };
  const settings = catalog.settings();
  const keys = identities ?? (catalog.identity() ? [catalog.identity()!] : undefined);
  let target: VerifyTarget;
  let display: ProgressDisplay | undefined;
  if (options.local !== undefined) {
    const progress = new VerifyProgress();
    display = new ProgressDisplay((width) => renderVerifyProgress(progress, width), log);
    target = { kind: "local", folder: resolve(options.local), identities: keys, progress };
  } else {
    if (identities) checkIdentitiesOpen(catalog, identities, options.identityFile!);
    const { storage } = openBackupStorage(settings, options, log, signal);
    await storage.checkAccess();
    target = { kind: "bucket", storage, identities: keys };
  }
  log.toFile("info", `verify ${settings.backupId} (${options.local ?? "bucket"})`);
  const report = await verifyBackup(catalog, target, { problem: print, info: print }, signal)
    .finally(() => display?.stop());
  return report.problemCount === 0 ? ExitCode.Ok : ExitCode.Warnings;
}

/**
 * For the bucket check, `--identity` must hold a key of the backup, so that a catalog copy it does
 * not open is the copy's fault (with `--local`, a volume it does not open is reported as such).
 */
function checkIdentitiesOpen(catalog: Catalog, identities: string[], file: string): void {
  const recipients = catalog.recipients();
  if (recipients.length === 0) return;
  const wanted = new Set(recipients);
  if (!identities.some((identity) => wanted.has(recipientFromIdentity(identity)))) {
    throw new UsageError(
      `no key in ${file} opens this backup (encrypted to ${recipients.join(", ")})`,
    );
  }
}

/** Reads an identity file; a missing or malformed file is a usage error. */
async function readIdentities(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`cannot read identity file ${path}: ${errorLine(error)}`);
  }
  return parseIdentityFile(text);
}

/** `--local` must name a readable folder. */
async function checkFolder(folder: string): Promise<void> {
  try {
    if ((await Deno.stat(folder)).isDirectory) return;
  } catch (error) {
    throw new UsageError(`--local ${folder}: ${errorLine(error)}`);
  }
  throw new UsageError(`--local ${folder} is not a folder`);
}
