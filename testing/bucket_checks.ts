/**
 * Checks a finished backup left the bucket exactly as it should: every volume uploaded and
 * present with its size, the catalog copy there, nothing else under the backup's folder, and no
 * unfinished multipart upload (which S3 bills for until it is aborted).
 */
import { Catalog } from "../lib/catalog/catalog.ts";
import { backupFolderKey, catalogCopyKey } from "../lib/archive/layout.ts";
import { pendingUploads, type Storage } from "../lib/storage/storage.ts";

/** Everything wrong with the bucket side of the backup in `stateDb` (empty when all is well). */
export async function bucketProblems(stateDb: string, storage: Storage): Promise<string[]> {
  const catalog = Catalog.open(stateDb);
  const settings = catalog.settings();
  const volumes = catalog.volumes();
  const phase = catalog.phase();
  const copyKey = catalogCopyKey(settings, catalog.recipients().length > 0);
  catalog.close();
  const problems: string[] = [];
  if (phase !== "done") problems.push(`catalog phase is ${phase}, not done`);
  const folder = backupFolderKey(settings);
  const expected = new Map<string, number | null>();
  for (const v of volumes) {
    if (v.state !== "uploaded") problems.push(`volume ${v.name} is ${v.state}, not uploaded`);
    else expected.set(v.objectKey, v.size);
  }
  let copy = false;
  for await (const object of storage.listObjects(folder)) {
    if (object.key === copyKey) {
      copy = true;
      continue;
    }
    if (!expected.has(object.key)) {
      problems.push(`orphan object ${object.key} (${object.size} bytes)`);
      continue;
    }
    const size = expected.get(object.key);
    if (object.size !== size) {
      problems.push(`${object.key} has ${object.size} bytes, catalog says ${size}`);
    }
    expected.delete(object.key);
  }
  for (const key of expected.keys()) problems.push(`uploaded volume ${key} is not in the bucket`);
  if (!copy) problems.push(`catalog copy ${copyKey} is not in the bucket`);
  for (const upload of await pendingUploads(storage, folder)) {
    problems.push(`unfinished multipart upload ${upload.uploadId} of ${upload.key}`);
  }
  return problems;
}
