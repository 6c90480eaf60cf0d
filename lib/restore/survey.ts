/**
 * The survey step of a restore: where each needed volume stands in the bucket (readable,
 * thawing, still frozen, missing, or not the size the catalog says).
 */
import type { Reporter } from "../archive/report.ts";
import { quotePath } from "../archive/quote_path.ts";
import type { Storage } from "../storage/storage.ts";
import type { VolumePlan } from "./plan.ts";
import { mapLimit } from "../memory/concurrency.ts";
import { volumeStatus } from "./thaw.ts";
import type { ThawingVolume } from "./wait_thaw.ts";

/** HeadObject requests sent at once. */
export const REQUEST_CONCURRENCY = 8;

/** Where the volumes of a run stand in the bucket. */
export interface Survey {
  ready: VolumePlan[];
  thawing: ThawingVolume[];
  frozen: (ThawingVolume & { size: number })[];
  /** Missing from the bucket: their wanted entries cannot be restored. */
  absent: VolumePlan[];
  /** Not the size the catalog says. */
  failed: VolumePlan[];
}

/** Looks each volume up in the bucket (a few at a time), reporting the missing and odd ones. */
export async function surveyVolumes(
  storage: Storage,
  folderBucket: boolean,
  log: Reporter,
  volumes: VolumePlan[],
): Promise<Survey> {
  const statuses = await mapLimit(
    volumes,
    REQUEST_CONCURRENCY,
    (v) => volumeStatus(storage, v.volume, folderBucket),
  );
  const survey: Survey = { ready: [], thawing: [], frozen: [], absent: [], failed: [] };
  for (const [i, status] of statuses.entries()) {
    const v = volumes[i];
    if (status.readiness === "absent") {
      log.error(
        `volume ${quotePath(v.volume.name)} is missing from ${storage.description}: its ` +
          `${v.entries} wanted entries cannot be restored`,
      );
      survey.absent.push(v);
    } else if (status.size !== v.volume.size) {
      log.error(
        `volume ${quotePath(v.volume.name)} is ${status.size} bytes in the bucket but ` +
          `${v.volume.size} in the catalog: skipping it`,
      );
      survey.failed.push(v);
    } else if (status.readiness === "ready") {
      survey.ready.push(v);
    } else if (status.readiness === "thawing") {
      survey.thawing.push({ plan: v, storageClass: status.storageClass });
    } else {
      survey.frozen.push({ plan: v, storageClass: status.storageClass, size: status.size });
    }
  }
  return survey;
}
