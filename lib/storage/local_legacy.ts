/**
 * What older versions left in a folder bucket: they emulated S3 multipart uploads in
 *
 *     ROOT/.glacier-uploads/<uploadId>/upload.json   {"key": ..., "storageClass": ..., ...}
 *     ROOT/.glacier-uploads/<uploadId>/00001         the parts, numbered
 *
 * A backup interrupted by such a version may have one recorded in its catalog. Today a folder
 * bucket has no multipart uploads: the volume is put again in whole from its local file, and
 * its old upload folder is removed here once the object is in place.
 */
import { join } from "node:path";
import { removeIfPresent, RESERVED_NAME_PREFIX } from "./local_files.ts";

/** The folder under the root where older versions kept their emulated multipart uploads. */
const LEGACY_UPLOADS_FOLDER = `${RESERVED_NAME_PREFIX}uploads`;

/**
 * Removes every emulated multipart upload of `key` under `root`, and the uploads folder once it
 * is empty. Best effort: a leftover only takes space in a folder that listings skip, so a
 * failure here never fails the put that made the upload useless. Costs one failed `readDir`
 * in a bucket without such leftovers.
 */
export async function removeLegacyUploads(root: string, key: string): Promise<void> {
  const folder = join(root, LEGACY_UPLOADS_FOLDER);
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(folder));
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.isDirectory) continue;
    const upload = join(folder, entry.name);
    if (await uploadKey(upload) !== key) continue;
    await removeIfPresent(upload, { recursive: true }).catch(() => {});
  }
  await Deno.remove(folder).catch(() => {});
}

/** The key an emulated upload was for, or `undefined` when its metadata is unreadable. */
async function uploadKey(upload: string): Promise<string | undefined> {
  try {
    const meta: unknown = JSON.parse(await Deno.readTextFile(join(upload, "upload.json")));
    const key = (meta as { key?: unknown } | null)?.key;
    return typeof key === "string" ? key : undefined;
  } catch {
    return undefined;
  }
}
