/**
 * `runBackup` driven directly, on a folder bucket and on S3 (moto): a run stopped after its first
 * upload is resumed by running it again, which sends every other volume once and never the ones
 * already uploaded, and ends with the bucket holding exactly the catalog's volumes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { backupFolderKey } from "../../lib/archive/layout.ts";
import { runBackup } from "../../lib/backup/run_backup.ts";
import { BackupProgress } from "../../lib/backup/progress.ts";
import { generateIdentity, recipientFromIdentity } from "../../lib/crypto/age.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import { type Storage, supportsMultipart } from "../../lib/storage/storage.ts";
import { makeMotoSandbox } from "../../testing/moto_sandbox.ts";
import { recordingReporter } from "../../testing/recording_reporter.ts";
import { makeSandbox } from "../../testing/sandbox.ts";
import { makeTree } from "../../testing/tree.ts";
import { syntheticSettings } from "../manage/helpers.ts";

/** A bucket for one test: a folder or a moto bucket. */
interface Bucket {
  root: string;
  src: string;
  name: string;
  storage: Storage;
  cleanup(): Promise<void>;
}

async function folderBucket(): Promise<Bucket> {
  const box = await makeSandbox("glacier-run-backup-");
  return { ...box, name: `file://${box.bucket}`, storage: createLocalStorage(box.bucket) };
}

async function motoBucket(): Promise<Bucket> {
  const box = await makeMotoSandbox({ prefix: "glacier-run-backup" });
  return { ...box, name: box.bucket };
}

/**
 * `storage`, with the keys of the volumes it finished storing (a one-step put or a completed
 * multipart upload) recorded in `stored`; `afterStore` runs after each.
 */
function recordingStores(storage: Storage, stored: string[], afterStore = () => {}): Storage {
  const finishing = supportsMultipart(storage) ? "completeMultipartUpload" : "putFile";
  return new Proxy(storage, {
    get(target, name) {
      const value = Reflect.get(target, name);
      if (typeof value !== "function") return value;
      if (name !== finishing) return value.bind(target);
      return async (key: string, ...rest: unknown[]) => {
        await value.call(target, key, ...rest);
        if (/\/\d{6}_/.test(key)) stored.push(key);
        afterStore();
      };
    },
  });
}

/**
 * A new encrypted backup of `bucket.src` into `bucket`: volumes of 1 MiB (so a few big files make
 * several), one upload at a time, a work folder that stays.
 */
function newCatalog(bucket: Bucket): Catalog {
  const identity = generateIdentity();
  return Catalog.create(
    join(bucket.root, "state.sqlite3"),
    syntheticSettings({
      sourceDirs: [bucket.src],
      bucket: bucket.name,
      workDir: join(bucket.root, "work"),
      workDirIsTemporary: false,
      volumeSize: 1024 * 1024,
      storageClass: "STANDARD",
      uploadWorkers: 1,
    }),
    { identity, recipients: [recipientFromIdentity(identity)] },
  );
}

async function sha256Of(storage: Storage, key: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of await storage.getObject(key)) hash.update(chunk);
  return hash.digest("hex");
}

for (const [kind, makeBucket] of [["a folder bucket", folderBucket], ["S3", motoBucket]] as const) {
  Deno.test(`runBackup to ${kind}, stopped after one upload, resumes without sending it again`, async () => {
    const bucket = await makeBucket();
    await makeTree(bucket.src, { bigFiles: [700_000, 700_000, 700_000], smallFiles: 10 });
    const catalog = newCatalog(bucket);
    const run = (storage: Storage, signal: AbortSignal, log = recordingReporter()) => {
      const progress = new BackupProgress();
      return {
        progress,
        log,
        done: runBackup({ catalog, storage, log, progress, skipPaths: [], signal }),
      };
    };
    try {
      const firstStored: string[] = [];
      const stop = new AbortController();
      const first = run(
        recordingStores(
          bucket.storage,
          firstStored,
          () => stop.abort(new DOMException("stopped", "AbortError")),
        ),
        stop.signal,
      );
      await assert.rejects(first.done, /stopped/);
      assert.equal(firstStored.length, 1);
      assert.equal(catalog.phase(), "planned");
      const volumes = catalog.volumes();
      assert.ok(volumes.length >= 3, "test setup: several volumes");
      assert.deepEqual(
        volumes.filter((v) => v.state === "uploaded").map((v) => v.objectKey),
        firstStored,
      );

      // An upload a killed run started but never recorded: the finished run aborts it.
      const folder = backupFolderKey(catalog.settings());
      if (supportsMultipart(bucket.storage)) {
        await bucket.storage.createMultipartUpload(`${folder}999999_lost.tar`, "STANDARD");
      }

      const secondStored: string[] = [];
      const second = run(
        recordingStores(bucket.storage, secondStored),
        new AbortController().signal,
      );
      await second.done;
      // The totals the first run counted as it scanned are the catalog's, as the resumed run
      // (which did not scan) read them.
      const rows = catalog.db.prepare(
        "SELECT COUNT(*) AS count, SUM(size) AS bytes FROM files",
      ).get() as { count: number; bytes: number };
      assert.ok(rows.count > 13, "test setup: the tree's files and folders");
      for (const { progress } of [first, second]) {
        assert.deepEqual([progress.filesTotal, progress.bytesTotal], [rows.count, rows.bytes]);
      }
      const all = catalog.volumes();
      assert.equal(catalog.phase(), "done");
      assert.ok(all.every((v) => v.state === "uploaded"), JSON.stringify(all));
      assert.deepEqual(
        secondStored.sort(),
        all.filter((v) => !firstStored.includes(v.objectKey)).map((v) => v.objectKey).sort(),
        "each other volume once, none of those already uploaded",
      );
      assert.equal(second.progress.volumesUploaded, all.length);
      assert.equal(second.progress.uploadedBytes, all.reduce((n, v) => n + v.size!, 0));
      const listed: string[] = [];
      for await (const object of bucket.storage.listObjects(folder)) listed.push(object.key);
      assert.deepEqual(listed.sort(), all.map((v) => v.objectKey).sort());
      for (const v of all) assert.equal(await sha256Of(bucket.storage, v.objectKey), v.sha256);
      assert.deepEqual([...Deno.readDirSync(join(bucket.root, "work"))], []);
      if (supportsMultipart(bucket.storage)) {
        assert.deepEqual(await bucket.storage.listMultipartUploads(folder), []);
        assert.ok(
          second.log.lines.some((l) => /aborting an unfinished upload .*999999_lost\.tar/.test(l)),
          second.log.lines.join("\n"),
        );
      }
    } finally {
      catalog.close();
      await bucket.cleanup();
    }
  });
}

Deno.test("a stopped run ends with the stop's reason, not with what failed because of it", async () => {
  const bucket = await folderBucket();
  await makeTree(bucket.src, { bigFiles: [700_000, 700_000], smallFiles: 3 });
  const catalog = newCatalog(bucket);
  try {
    const stop = new AbortController();
    // A store whose upload is cut by the stop, failing with an error of its own (as a request
    // aborted mid-way does), while the next volume is still being built.
    const cut = new Proxy(bucket.storage, {
      get(target, name) {
        const value = Reflect.get(target, name);
        if (typeof value !== "function") return value;
        if (name !== "putFile") return value.bind(target);
        return () => {
          stop.abort(new DOMException("stopped by the user", "AbortError"));
          return Promise.reject(new TypeError("connection reset by the stop"));
        };
      },
    });
    const done = runBackup({
      catalog,
      storage: cut,
      log: recordingReporter(),
      progress: new BackupProgress(),
      skipPaths: [],
      signal: stop.signal,
    });
    await assert.rejects(done, /stopped by the user/);
    assert.equal(catalog.phase(), "planned");
    assert.ok(catalog.volumes().every((v) => v.state !== "uploaded"));
  } finally {
    catalog.close();
    await bucket.cleanup();
  }
});
