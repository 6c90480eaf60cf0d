/**
 * Checks the bucket against the catalog without reading any volume's data (nothing is thawed,
 * nothing is downloaded): each uploaded volume's object exists with the recorded size (HeadObject),
 * its storage class and, where the store gives S3 ETags, that a volume sent as a multipart upload
 * is stored as one with the part count sent (`-N` in its ETag); the catalog copy is
 * there and, when a key is at hand, is this backup's catalog (catalog_copy.ts); nothing else sits
 * in the backup's folder; no multipart upload was left unfinished.
 *
 * What cannot be checked this way: the content. S3's ETag of a multipart object is an MD5 of the
 * parts' MD5s, and its CRC checksums are of the parts too; neither is the SHA-256 the catalog
 * keeps. Checking content means downloading (`--local`).
 */
import type { Catalog, VolumeRecord } from "../catalog/catalog.ts";
import { backupFolderKey, catalogCopyKey } from "../archive/layout.ts";
import { mapLimit } from "../memory/concurrency.ts";
import { type ObjectInfo, pendingUploads, type Storage } from "../storage/storage.ts";
import { checkCatalogCopy } from "./catalog_copy.ts";
import { plural, type VerifyReport } from "./report.ts";
import { quotePath } from "../archive/quote_path.ts";

/** HeadObject requests in flight at once. */
const CONCURRENCY = 8;

/**
 * Checks every uploaded volume of `catalog` in `storage`, and the catalog copy (opened with
 * `identities` when it is encrypted); adds findings to `report`.
 */
export async function checkRemoteVolumes(
  catalog: Catalog,
  storage: Storage,
  report: VerifyReport,
  options: { identities?: string[]; signal?: AbortSignal } = {},
): Promise<void> {
  const { signal } = options;
  const settings = catalog.settings();
  const uploaded = catalog.volumes().filter((v) => v.state === "uploaded");
  // Several HeadObject requests at once, findings reported in volume order.
  const answers = await mapLimit(uploaded, CONCURRENCY, async (volume) => {
    signal?.throwIfAborted();
    return await storage.headObject(volume.objectKey);
  });
  uploaded.forEach((volume, index) => checkObject(volume, answers[index], storage, report));

  const folder = backupFolderKey(settings);
  const copyKey = catalogCopyKey(settings, catalog.recipients().length > 0);
  const known = new Map(catalog.volumes().map((v) => [v.objectKey, v]));
  let copy = false;
  for await (const object of storage.listObjects(folder)) {
    signal?.throwIfAborted();
    const volume = known.get(object.key);
    if (object.key === copyKey) copy = true;
    else if (!volume) {
      report.problem(object.key, `object not in the catalog (${object.size} bytes)`);
    } else if (volume.state === "deleted") {
      report.problem(volume.name, `deleted with glacier delete, but still in the bucket`);
    }
  }
  const done = catalog.phase() === "done";
  if (copy) await checkCatalogCopy(catalog, storage, copyKey, options.identities, report, signal);
  else if (done) {
    report.problem(
      copyKey,
      "the catalog copy is missing from the bucket (a lost state database could not be " +
        "replaced from it)",
    );
  }

  const pending = await pendingUploads(storage, folder);
  for (const upload of pending) {
    if (done) {
      report.problem(
        upload.key,
        `unfinished multipart upload ${upload.uploadId} (billed until aborted)`,
      );
    } else {
      report.note(upload.key, `multipart upload in progress (${upload.uploadId})`);
    }
  }
  report.checked.push(
    `${plural(uploaded.length, "uploaded volume")} in ${storage.description}: presence, size, ` +
      `storage class, multipart part count; the catalog copy; stray objects; unfinished uploads`,
  );
}

/** Compares one HeadObject answer with the catalog. */
function checkObject(
  volume: VolumeRecord,
  info: ObjectInfo | undefined,
  storage: Storage,
  report: VerifyReport,
): void {
  if (!info) {
    report.problem(
      volume.name,
      `object ${quotePath(volume.objectKey)} is missing from ${storage.description}`,
    );
    return;
  }
  if (info.size !== volume.size) {
    report.problem(
      volume.name,
      `object ${
        quotePath(volume.objectKey)
      } has ${info.size} bytes, the catalog says ${volume.size}`,
    );
    return;
  }
  if (info.storageClass !== volume.storageClass) {
    report.note(
      volume.name,
      `storage class is ${info.storageClass}, the backup used ${volume.storageClass}`,
    );
  }
  // A volume with a part size was sent as a multipart upload, whose ETag ends in `-N` (N parts,
  // `-1` for one); a plain MD5 ETag is an object put in one request, so not the one the backup sent.
  const stored = storedParts(info.etag);
  if (stored && volume.partSize !== null && volume.size !== null) {
    const expected = Math.max(1, Math.ceil(volume.size / volume.partSize));
    if (!stored.multipart || stored.parts !== expected) {
      const how = stored.multipart
        ? `in ${stored.parts} parts`
        : "in one put, not as a multipart upload";
      report.problem(
        volume.name,
        `object ${quotePath(volume.objectKey)} was stored ${how}, the backup sent ${expected} ` +
          `${expected === 1 ? "part" : "parts"}: it was replaced`,
      );
    }
  }
}

/**
 * How an object was stored, read from its S3 ETag: `"<md5>-N"` is a multipart upload of N parts,
 * a plain `"<md5>"` one put; undefined for any other ETag (a store that does not tell).
 */
export function storedParts(
  etag: string | undefined,
): { multipart: boolean; parts: number } | undefined {
  const parts = multipartCount(etag);
  if (parts !== undefined) return { multipart: true, parts };
  return /^"?[0-9a-fA-F]{32}"?$/.test(etag ?? "") ? { multipart: false, parts: 1 } : undefined;
}

/** The part count of a multipart ETag (`"<md5>-N"`), or undefined for any other ETag. */
export function multipartCount(etag: string | undefined): number | undefined {
  const match = /^"?[0-9a-fA-F]{32}-(\d+)"?$/.exec(etag ?? "");
  return match ? Number(match[1]) : undefined;
}
