/**
 * The glacier side of the bench's upload shape: sends one local file to an S3 bucket exactly as a
 * backup sends a built volume (`uploadVolume`: the retrying S3 store of `openRetryingStorage`, the
 * default part size, parts in flight as many as the default `--num-upload-workers` (2), recorded
 * in a catalog, the size checked at the end), without building
 * anything. Run as its own process so that its time, CPU and memory can be measured alone.
 *
 *     deno run --allow-all testing/bench/upload_driver.ts FILE BUCKET ENDPOINT WORK_DIR
 *
 * The AWS credentials come from the environment. WORK_DIR must be empty or missing; the file is
 * hard-linked into it (the upload deletes its local copy, as a backup does) and the folder is
 * removed at the end.
 */
import { join } from "node:path";
import { Catalog } from "../../lib/catalog/catalog.ts";
import type { BackupSettings } from "../../lib/catalog/settings.ts";
import { markVolumeBuilt } from "../../lib/catalog/volume_state.ts";
import { localVolumePath } from "../../lib/backup/build_volume.ts";
import { openRetryingStorage } from "../../lib/backup/open_storage.ts";
import { uploadVolume } from "../../lib/backup/upload_volume.ts";
import { BufferSlots } from "../../lib/memory/buffer_slots.ts";

const [file, bucket, endpoint, workDir] = Deno.args;
if (!file || !bucket || !endpoint || !workDir) {
  console.error("usage: upload_driver.ts FILE BUCKET ENDPOINT WORK_DIR");
  Deno.exit(2);
}

const size = (await Deno.stat(file)).size;
await Deno.mkdir(workDir, { recursive: true });
const settings: BackupSettings = {
  backupId: "bench",
  sourceDirs: [file],
  bucket,
  prefix: "",
  workDir,
  workDirIsTemporary: true,
  baseName: "upload.bin",
  volumeSize: size,
  compression: "none",
  encrypt: false,
  storageClass: "STANDARD",
  uploadWorkers: 2, // the backup's default --num-upload-workers
  excludes: [],
  endpoint,
};
const catalog = Catalog.create(join(workDir, "state.sqlite3"), settings, { recipients: [] });
try {
  const key = `bench/${crypto.randomUUID()}.bin`;
  catalog.savePlan([{
    id: 1,
    name: "000001_upload.bin",
    objectKey: key,
    storageClass: "STANDARD",
    firstFileId: 1,
    lastFileId: 0,
    plannedBytes: size,
  }]);
  // The SHA-256 is only read for a folder bucket's one-step put; an S3 upload never looks at it.
  markVolumeBuilt(catalog, 1, { size, sha256: "", outcomes: [] });
  const volume = catalog.volume(1);
  await Deno.link(file, localVolumePath(settings, volume));
  const storage = openRetryingStorage(bucket, { endpoint }, {
    warn: (message: string) => console.error(`warning: ${message}`),
  });
  const slots = new BufferSlots(settings.uploadWorkers);
  await uploadVolume(
    catalog,
    storage,
    volume,
    localVolumePath(settings, volume),
    {},
    undefined,
    slots,
  );
  console.log(key);
} finally {
  catalog.close();
  await Deno.remove(workDir, { recursive: true }).catch(() => {});
}
