/**
 * `glacier sync`: lists the backup's folder in the bucket, brings the catalog in line with it
 * (volumes gone become `missing`, volumes back become `uploaded` again) and reports every
 * difference, including objects the catalog does not know (they are listed, never deleted).
 */
import type { Catalog } from "../catalog/catalog.ts";
import { markVolumeFound, markVolumeMissing } from "../catalog/volume_state.ts";
import { formatBytes } from "../archive/units.ts";
import type { Outcome, Reporter } from "../archive/report.ts";
import type { Storage } from "../storage/storage.ts";
import { refreshCatalogCopy } from "./backup_storage.ts";
import { BucketReconciler, type Finding } from "./bucket_reconciler.ts";
import { plural } from "./show_format.ts";
import { quotePath } from "../archive/quote_path.ts";

/** Reconciles `catalog` with the objects under `folderKey`; done when in sync, done with warnings otherwise. */
export async function syncCatalog(
  catalog: Catalog,
  storage: Storage,
  folderKey: string,
  log: Reporter,
): Promise<Outcome> {
  const reconciler = new BucketReconciler(catalog.ownVolumes(), folderKey);
  let differences = 0;
  let changed = false;
  const report = (finding: Finding) => {
    differences++;
    changed = apply(catalog, finding, log) || changed;
  };
  for await (const object of storage.listObjects(folderKey)) {
    const finding = reconciler.see(object);
    if (finding) report(finding);
  }
  for (const finding of reconciler.finish()) report(finding);
  if (changed) await refreshCatalogCopy(catalog, storage, log);
  const where = placeInStorage(storage.description, folderKey);
  if (differences === 0) {
    log.info(
      `in sync: ${plural(reconciler.matched, "volume")} in ${where} ` +
        `${reconciler.matched === 1 ? "matches" : "match"} the state database`,
    );
    return "done";
  }
  log.warn(`${plural(differences, "difference")} between the state database and ${where}`);
  return "done-with-warnings";
}

/** Updates the catalog for one finding and says what changed; true when the catalog changed. */
function apply(catalog: Catalog, finding: Finding, log: Reporter): boolean {
  switch (finding.kind) {
    case "gone": {
      const files = markVolumeMissing(catalog, finding.volume.id);
      log.warn(
        `missing from the bucket: ${quotePath(finding.volume.name)}; marked missing with ` +
          plural(files, "entry", "entries"),
      );
      return true;
    }
    case "still-missing":
      log.warn(`still missing from the bucket: ${quotePath(finding.volume.name)}`);
      return false;
    case "back": {
      const files = markVolumeFound(catalog, finding.volume.id);
      log.warn(
        `back in the bucket: ${quotePath(finding.volume.name)}; marked uploaded again with ` +
          plural(files, "entry", "entries"),
      );
      return true;
    }
    case "size-mismatch":
      log.warn(
        `size differs: ${
          quotePath(finding.volume.name)
        } is ${finding.remoteSize} bytes in the bucket but ` +
          `${finding.volume.size} bytes in the state database (damaged or replaced?)`,
      );
      return false;
    case "deleted-but-present":
      log.warn(
        `deleted in the state database but still in the bucket: ${
          quotePath(finding.volume.objectKey)
        } ` +
          `(${formatBytes(finding.remoteSize)})`,
      );
      return false;
    case "unknown":
      log.warn(
        `not in the state database (left alone): ${quotePath(finding.key)} (${
          formatBytes(finding.size)
        })`,
      );
      return false;
  }
}

/**
 * Where `key` is, for a message: `s3://b/KEY at http://endpoint` for a storage described as
 * `s3://b at http://endpoint` (the key goes after the bucket, not after the endpoint's URL).
 */
export function placeInStorage(description: string, key: string): string {
  const at = description.indexOf(" at ");
  if (at < 0) return `${description}/${key}`;
  return `${description.slice(0, at)}/${key}${description.slice(at)}`;
}
