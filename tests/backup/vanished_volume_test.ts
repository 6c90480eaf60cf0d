/**
 * A local volume file that vanishes before or during its upload is built again, never retried as
 * it is: in the run that loses it (one-step copy to a folder bucket, or multipart upload to S3), and
 * in a resume after a kill.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Catalog } from "../../lib/catalog/catalog.ts";
import type { VolumeRecord } from "../../lib/catalog/catalog.ts";
import { runBackup } from "../../lib/backup/run_backup.ts";
import { localVolumePath } from "../../lib/backup/build_volume.ts";
import { BackupProgress } from "../../lib/backup/progress.ts";
import { Logger } from "../../lib/cli/log.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import { withRetry } from "../../lib/storage/retry.ts";
import type { Storage } from "../../lib/storage/storage.ts";
import { testStorage } from "../../testing/moto_sandbox.ts";
import { createBucket, type MotoServer, startMoto } from "../../testing/moto.ts";
import { assertKilled, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { makeSandbox } from "../../testing/sandbox.ts";
import { diffTrees, makeTree } from "../../testing/tree.ts";
import { syntheticSettings } from "../manage/helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";

/** SHA-256 of a stored object, hex. */
async function sha256Of(storage: Storage, key: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of await storage.getObject(key)) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * A bucket whose first upload of a volume deletes the local volume file first, as a cleaner or
 * another process might: the folder `root`, or with `moto` an S3 bucket, to which the volume goes
 * up in parts.
 */
async function vanishingStorage(
  root: string,
  workDir: string,
  moto: MotoServer | undefined,
): Promise<Storage> {
  const s3 = moto && testStorage(moto.endpoint, "vanished");
  if (moto) await createBucket(moto.endpoint, "vanished");
  const inner: Storage = s3 ?? createLocalStorage(root);
  let struck = false;
  const strike = async (key: string) => {
    if (struck) return;
    struck = true;
    await Deno.remove(join(workDir, key.split("/").at(-1)!));
  };
  return new Proxy(inner, {
    get(target, name) {
      if (name === "putFile" && !s3) {
        return async (key: string, path: string, storageClass: string) => {
          await strike(key);
          return await target.putFile(key, path, storageClass);
        };
      }
      if (name === "createMultipartUpload" && s3) {
        return async (key: string, storageClass: string) => {
          const uploadId = await s3.createMultipartUpload(key, storageClass);
          await strike(key);
          return uploadId;
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

// zstd: the volume is built again on compression workers after the last build has finished.
for (
  const [multipart, compression] of [[false, "none"], [true, "none"], [false, "zstd"]] as const
) {
  const how = multipart ? "a multipart upload" : "a one-step copy to a folder bucket";
  Deno.test(`a ${compression} volume file that vanishes during ${how} is built again in the same run`, async () => {
    const moto = multipart ? await startMoto() : undefined;
    const root = await Deno.makeTempDir({ prefix: "glacier-vanished-" });
    const src = join(root, "src");
    const work = join(root, "work");
    const bucket = join(root, "bucket");
    await Deno.mkdir(src);
    await Deno.mkdir(bucket);
    await makeTree(src, { smallFiles: 20 });
    const catalog = Catalog.create(
      join(root, "state.sqlite3"),
      syntheticSettings({
        sourceDirs: [src],
        bucket: `file://${bucket}`,
        workDir: work,
        workDirIsTemporary: false,
        compression,
        encrypt: false,
        uploadWorkers: 1,
        storageClass: "STANDARD",
      }),
      { recipients: [] },
    );
    const warnings: string[] = [];
    const log = Logger.terminalOnly();
    log.write = (level, message) => {
      if (level === "warn") warnings.push(message);
    };
    // Fast retries, and a bound: a file retried for ever ends the test with a failure.
    const giveUp = AbortSignal.timeout(30_000);
    try {
      const storage = withRetry(await vanishingStorage(bucket, work, moto), {
        baseDelayMs: 10,
        maxDelayMs: 50,
        signal: giveUp,
      });
      await runBackup({
        catalog,
        storage,
        log,
        progress: new BackupProgress(),
        skipPaths: [],
        signal: giveUp,
      });
      const volumes: VolumeRecord[] = catalog.volumes();
      assert.ok(volumes.length >= 1);
      assert.ok(volumes.every((v) => v.state === "uploaded"), JSON.stringify(volumes));
      for (const v of volumes) {
        assert.equal(await sha256Of(storage, v.objectKey), v.sha256, v.name);
        await assert.rejects(Deno.lstat(localVolumePath(catalog.settings(), v)));
      }
      assert.equal(catalog.phase(), "done");
      assert.ok(
        warnings.some((w) => /vanished before it was uploaded.*: building it again/.test(w)),
        warnings.join("\n"),
      );
    } finally {
      catalog.close();
      await moto?.stop();
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test("a volume file deleted between a kill and the resume is built again", async () => {
  const box = await makeSandbox("glacier-vanished-");
  try {
    await makeTree(box.src, { smallFiles: 20 });
    const work = join(box.root, "work");
    const crashed = await runCli([
      "backup",
      "--src-dirs",
      box.src,
      "--bucket",
      `file://${box.bucket}`,
      "--state-dir",
      box.state,
      join(work, "vol.tar"),
    ], { env: { GLACIER_TEST_CRASH_AT: "after-volume-built" } });
    assertKilled(crashed);
    const built = Array.from(Deno.readDirSync(work)).map((e) => e.name);
    assert.ok(built.some((name) => /^000001_vol\.tar/.test(name)), built.join(", "));
    for (const name of built) await Deno.remove(join(work, name));
    const stateDb = stateDbFrom(crashed);

    const resumed = await runCli(["resume", stateDb]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /local copy of 000001_vol\.tar\S* is missing .*building it again/);
    // Nothing was lost with the volume file: the backup restores the source as it is.
    const dest = join(box.root, "restored");
    const restored = await runCli(["restore", stateDb, "--to", dest, "--yes"]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(await diffTrees(box.src, join(dest, archivePath(box.src))), []);
  } finally {
    await box.cleanup();
  }
});
