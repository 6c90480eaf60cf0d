/** `glacier list --bucket B`: the backups in a bucket, from one streamed listing of its keys. */
import { Command } from "commander";
import { ExitCode } from "../lib/cli/exit.ts";
import { UsageError } from "../lib/archive/errors.ts";
import { formatBytes } from "../lib/archive/units.ts";
import { connectionSettings, prefixOption, withConnectionOptions } from "../lib/cli/options.ts";
import type { ConnectionSettings } from "../lib/storage/open.ts";
import { InvalidBucketError } from "../lib/storage/open.ts";
import { openRetryingStorage } from "../lib/backup/open_storage.ts";
import type { ObjectInfo, Storage } from "../lib/storage/storage.ts";
import { formatTable } from "../lib/cli/table.ts";
import {
  backupIdStarted,
  backupObjectKind,
  parseBucketKey,
  prefixFolderKey,
} from "../lib/archive/layout.ts";

/** Parsed `glacier list` options. */
export interface ListOptions extends ConnectionSettings {
  bucket: string;
  prefix: string;
  json: boolean;
}

/** The `list` command. */
export function listCommand(setExitCode: (code: number) => void): Command {
  const command = new Command("list")
    .description("list the backups in a bucket")
    .option("--prefix <prefix>", "key prefix the backups were made with")
    .option("--json", "print machine-readable JSON (one array)")
    .action(async (raw: Record<string, unknown>) => {
      setExitCode(
        await list({
          bucket: raw.bucket as string,
          prefix: prefixOption((raw.prefix as string | undefined) ?? ""),
          ...connectionSettings(raw),
          json: raw.json === true,
        }),
      );
    });
  return withConnectionOptions(command);
}

/** Lists the backups under the prefix of a bucket; returns the exit code. */
export async function list(options: ListOptions): Promise<number> {
  const storage = openListedStorage(options);
  await storage.checkAccess();
  const folder = prefixFolderKey(options.prefix);
  const tally = new BackupTally(folder);
  for await (const object of storage.listObjects(folder)) tally.add(object);
  const backups = tally.backups();
  const where = storage.description + (folder === "" ? "" : ` under ${folder}`);
  if (options.json) {
    print(JSON.stringify(backups, null, 2));
  } else if (backups.length === 0) {
    print(`no backups in ${where}`);
  } else {
    print(listLines(backups).join("\n"));
    print(`${backups.length} backup${backups.length === 1 ? "" : "s"} in ${where}`);
  }
  const hint = tally.otherFoldersHint();
  if (hint) console.error(hint);
  return ExitCode.Ok;
}

function openListedStorage(options: ListOptions): Storage {
  try {
    // No log file here: the waits go to stderr only.
    return openRetryingStorage(options.bucket, options, {
      warn: (line) => console.error(`warn: ${line}`),
    });
  } catch (error) {
    if (error instanceof InvalidBucketError) throw new UsageError(error.message);
    throw error;
  }
}

function print(text: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
}

/** One backup found in a bucket. */
export interface ListedBackup {
  backupId: string;
  /** The key prefix the backup is under ("" for none). */
  prefix: string;
  /** When the backup started, from its id (the local time of the machine that made it). */
  started: string;
  volumes: number;
  /** Bytes of its volumes. */
  bytes: number;
  /** Storage classes of its volumes. */
  storageClasses: string[];
  /** True when the bucket holds a copy of its catalog (`catalog.sqlite3.age`). */
  catalog: boolean;
  /** Objects in its folder that are neither volumes nor the catalog copy. */
  otherObjects: number;
  /** The newest object's modification time (ISO 8601), when the store reports one. */
  lastModified?: string;
}

/** How many other top-level folders a hint names. */
const HINTED_FOLDERS = 5;

/**
 * Sums a listing per backup id, as objects stream by: memory grows with the number of backups,
 * not of objects. Keys are read as the bucket layout makes them (`[PREFIX/]BACKUP_ID/NAME`);
 * anything else is counted as other.
 */
export class BackupTally {
  readonly #byId = new Map<string, ListedBackup & { classes: Set<string> }>();
  readonly #otherFolders = new Set<string>();
  #otherKeys = 0;
  /** The listed key prefix, without its trailing `/` ("" for the bucket root). */
  readonly prefix: string;

  /** `folder` is the listed prefix with its trailing `/` ("" for the bucket root). */
  constructor(readonly folder: string) {
    this.prefix = folder.replace(/\/$/, "");
  }

  /** Counts one listed object. */
  add(object: ObjectInfo): void {
    if (!object.key.startsWith(this.folder)) return;
    const key = parseBucketKey(object.key, this.prefix);
    if (!key) {
      const rest = object.key.slice(this.folder.length);
      const slash = rest.indexOf("/");
      this.#otherKeys++;
      if (slash > 0 && this.#otherFolders.size < HINTED_FOLDERS) {
        this.#otherFolders.add(rest.slice(0, slash + 1));
      }
      return;
    }
    const { backupId: id, name } = key;
    let backup = this.#byId.get(id);
    if (!backup) {
      backup = {
        backupId: id,
        prefix: this.prefix,
        started: backupIdStarted(id)!,
        volumes: 0,
        bytes: 0,
        storageClasses: [],
        catalog: false,
        otherObjects: 0,
        classes: new Set(),
      };
      this.#byId.set(id, backup);
    }
    switch (backupObjectKind(name)) {
      case "volume":
        backup.volumes++;
        backup.bytes += object.size;
        backup.classes.add(object.storageClass);
        break;
      case "catalog-copy":
        backup.catalog = true;
        break;
      case "other":
        backup.otherObjects++;
    }
    const modified = object.lastModified?.toISOString();
    if (modified && (!backup.lastModified || modified > backup.lastModified)) {
      backup.lastModified = modified;
    }
  }

  /** The backups seen, oldest first. */
  backups(): ListedBackup[] {
    return [...this.#byId.values()]
      .sort((a, b) => a.backupId < b.backupId ? -1 : a.backupId > b.backupId ? 1 : 0)
      .map(({ classes, ...backup }) => ({ ...backup, storageClasses: [...classes].sort() }));
  }

  /** A line about objects that are not in backup folders (another prefix?), or undefined. */
  otherFoldersHint(): string | undefined {
    if (this.#otherKeys === 0) return undefined;
    const objects = `${this.#otherKeys} object${this.#otherKeys === 1 ? " is" : "s are"}`;
    if (this.#otherFolders.size === 0) return `note: ${objects} not in a backup folder`;
    const folders = [...this.#otherFolders].map((f) => this.folder + f).join(", ");
    return `note: ${objects} not in a backup folder; other folders (try --prefix): ${folders}`;
  }
}

/** The table of `glacier list`. */
export function listLines(backups: ListedBackup[]): string[] {
  return formatTable([
    ["backup", "started", "volumes", "size", "class", "catalog copy"],
    ...backups.map((b) => [
      b.backupId,
      b.started,
      String(b.volumes),
      formatBytes(b.bytes),
      b.storageClasses.join(",") || "-",
      b.catalog ? "yes" : "no",
    ]),
  ], [2, 3]);
}
