/** Shared set-up of the tests that drive the backup flows directly (no child process). */
import { join } from "node:path";
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
