/** Shared set-up of the tests that drive the backup flows directly (no child process). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../main.ts";
import type { Sandbox } from "../../testing/sandbox.ts";
import { Catalog, type CatalogKeys } from "../../lib/catalog/catalog.ts";
import type { BackupSettings } from "../../lib/catalog/settings.ts";
import { scanSources } from "../../lib/archive/scan.ts";
import { planVolumes } from "../../lib/backup/plan_volumes.ts";
import { syntheticSettings } from "../manage/helpers.ts";

/**
 * A new catalog in `root` backing `src` up, scanned and planned as `runBackup` leaves it before
 * packing (nothing built). Unencrypted and uncompressed unless `settings` or `keys` say otherwise.
 */
export async function plannedCatalog(
  root: string,
  src: string,
  settings: Partial<BackupSettings> = {},
  keys: CatalogKeys = { recipients: [] },
): Promise<Catalog> {
  const all = syntheticSettings({
    sourceDirs: [src],
    bucket: "file:///unused",
    workDir: root,
    workDirIsTemporary: false,
    baseName: "t.tar",
    compression: "none",
    encrypt: keys.recipients.length > 0,
    storageClass: "STANDARD",
    uploadWorkers: 1,
    ...settings,
  });
  const catalog = Catalog.create(join(root, "state.sqlite3"), all, keys);
  await scanSources({ sourceDirs: [src], excludes: [], skipPaths: [] }, {
    addFiles: (files) => catalog.insertFiles(files),
    addProblem: (p) => catalog.recordProblem(p),
  });
  catalog.savePlan(planVolumes(catalog.eachFile(), all));
  return catalog;
}

/**
 * Runs `glacier ARGS` in this process (`main`); returns how far `started` (a process-wide count of
 * threads of one kind) went up meanwhile, that is, how many such threads the command started.
 */
export async function threadsStartedBy(started: () => number, args: string[]): Promise<number> {
  const before = started();
  const code = await main(args);
  assert.equal(code, 0, `glacier ${args.join(" ")} exited ${code}`);
  return started() - before;
}

/** The state database a backup into `box` left in its state folder. */
export async function stateDbOf(box: Sandbox): Promise<string> {
  for await (const entry of Deno.readDir(box.state)) {
    if (entry.name.endsWith(".sqlite3")) return join(box.state, entry.name);
  }
  throw new Error(`no state database in ${box.state}`);
}
