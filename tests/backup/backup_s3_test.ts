/**
 * End-to-end backups to a real S3 server (moto over HTTP): storage classes, several volumes,
 * permanent errors failing fast, and resume after a kill -9 at each stage of the pipeline.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  backupToMotoSandbox,
  makeMotoSandbox,
  type MotoSandbox,
} from "../../testing/moto_sandbox.ts";
import { diffTrees, makeTree, randomBytes } from "../../testing/tree.ts";
import { assertKilled, type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { extractWithReferenceTools } from "../../testing/volumes.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";
import type { ObjectInfo } from "../../lib/storage/storage.ts";
import { exists } from "../../lib/storage/exists.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needs, where } from "../../testing/platform.ts";

/** The moto sandbox of one test, with its bucket's objects and unfinished uploads. */
async function withMoto(
  fn: (
    ctx: MotoSandbox & {
      objects: () => Promise<ObjectInfo[]>;
      pendingUploads: () => Promise<number>;
      backup: (...extra: string[]) => Promise<CliResult>;
    },
  ) => Promise<void>,
  options: { createBucket?: boolean } = {},
) {
  const box = await makeMotoSandbox({ createBucket: options.createBucket });
  const { storage } = box;
  try {
    await fn({
      ...box,
      objects: async () => {
        const out: ObjectInfo[] = [];
        for await (const o of storage.listObjects("")) out.push(o);
        return out;
      },
      pendingUploads: async () => (await storage.listMultipartUploads("")).length,
      backup: (...extra) => backupToMotoSandbox(box, ...extra),
    });
  } finally {
    await box.cleanup();
  }
}

/** Restores every volume of a finished backup from the bucket with age | zstd | tar. */
async function restoreWithReferenceTools(
  stateDb: string,
  root: string,
  objects: ObjectInfo[],
  endpoint: string,
  bucket: string,
): Promise<string> {
  const key = await runCli(["key", "export", stateDb]);
  const keyFile = join(root, "key.txt");
  await Deno.writeTextFile(keyFile, key.stdout);
  const dest = join(root, "restored");
  await Deno.mkdir(dest, { recursive: true });
  const downloads = join(root, "downloads");
  await Deno.mkdir(downloads, { recursive: true });
  for (const object of objects.filter((o) => /\/\d{6}_/.test(o.key))) {
    const response = await fetch(`${endpoint}/${bucket}/${object.key}`);
    assert.equal(response.status, 200, `GET ${object.key}`);
    const path = join(downloads, object.key.split("/").pop()!);
    await Deno.writeFile(path, new Uint8Array(await response.arrayBuffer()));
    await extractWithReferenceTools(path, dest, keyFile);
  }
  return dest;
}

Deno.test(
  where(
    needs("bash", "age", "zstd", "tar"),
    "backup to S3 with --test-run: several STANDARD volumes, restorable by age|zstd|tar",
    async () => {
      await withMoto(async ({ moto, bucket, root, src, objects, pendingUploads, backup }) => {
        await makeTree(src, { bigFiles: [1_200_000, 900_000, 1_100_000], smallFiles: 50 });
        const result = await backup("--test-run", "--volume-size", "1MiB", "--prefix", "nightly/");
        assert.equal(result.code, 0, result.stderr);
        const stateDb = stateDbFrom(result);
        const catalog = Catalog.open(stateDb);
        const volumes = catalog.volumes();
        const backupId = catalog.settings().backupId;
        catalog.close();
        assert.ok(volumes.length >= 3);
        const listed = (await objects()).filter((o) => !o.key.endsWith("/catalog.sqlite3.age"));
        assert.deepEqual(
          listed.map((o) => o.key).sort(),
          volumes.map((v) => `nightly/${backupId}/${v.name}`),
        );
        for (const o of listed) {
          assert.equal(o.storageClass, "STANDARD");
          assert.equal(o.size, volumes.find((v) => o.key.endsWith(v.name))!.size);
        }
        assert.equal(await pendingUploads(), 0);
        const dest = await restoreWithReferenceTools(stateDb, root, listed, moto.endpoint, bucket);
        assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
      });
    },
  ),
);

Deno.test("backup to S3 uses DEEP_ARCHIVE by default and --storage-class when given", async () => {
  await withMoto(async ({ src, objects, backup }) => {
    await makeTree(src);
    const deep = await backup();
    assert.equal(deep.code, 0, deep.stderr);
    const flexible = await backup("--storage-class", "glacier");
    assert.equal(flexible.code, 0, flexible.stderr);
    const classes = (await objects()).filter((o) => /\/\d{6}_/.test(o.key))
      .map((o) => o.storageClass).sort();
    assert.deepEqual(classes, ["DEEP_ARCHIVE", "GLACIER"]);
  });
});

Deno.test("a missing bucket fails fast with one clear line and exit 3, before anything is written", async () => {
  await withMoto(async ({ bucket, src, state, objects, backup, createBucket }) => {
    await makeTree(src);
    const started = Date.now();
    const failed = await backup("--test-run");
    assert.equal(failed.code, 3, failed.stderr);
    assert.ok(Date.now() - started < 30_000, "a permanent error must not be retried");
    assert.match(
      failed.stderr,
      new RegExp(`bucket.*${bucket}.*(does not exist|NoSuchBucket)`, "i"),
    );
    assert.equal(failed.stderr.trim().split("\n").length, 1, failed.stderr);
    assert.equal(failed.stdout, "", "no state database may be made");
    assert.equal(await exists(state), false, "no state database and no log may be left");
    await createBucket();
    const made = await backup("--test-run");
    assert.equal(made.code, 0, made.stderr);
    assert.equal((await objects()).filter((o) => /\/\d{6}_/.test(o.key)).length, 1);
  }, { createBucket: false });
});

/**
 * Kills the backup with SIGKILL at `point`, resumes it, and checks that the result is complete,
 * restorable, and leaves no unfinished multipart upload.
 */
async function crashAndResume(point: string, extra: string[], check?: (stderr: string) => void) {
  await withMoto(async (box) => {
    const { moto, bucket, root, src, env, objects, pendingUploads } = box;
    await makeTree(src, { smallFiles: 30 });
    await Deno.writeFile(join(src, "large.bin"), randomBytes(40 * 1024 * 1024));
    const crashed = await runCli([
      "backup",
      "--src-dirs",
      src,
      "--bucket",
      bucket,
      "--test-run",
      "--volume-size",
      "8MiB",
      "--state-dir",
      box.state,
      join(root, "work", "vol.tar"),
      ...extra,
    ], { env: { ...env, GLACIER_TEST_CRASH_AT: point } });
    assertKilled(crashed, `${point}: ${crashed.stderr}`);
    const stateDb = stateDbFrom(crashed);
    const resumed = await runCli(["resume", stateDb], { env });
    assert.equal(resumed.code, 0, resumed.stderr);
    check?.(resumed.stderr);
    assert.equal(await pendingUploads(), 0, "no multipart upload may be left behind");
    const listed = await objects();
    const catalog = Catalog.open(stateDb);
    const volumes = catalog.volumes();
    catalog.close();
    assert.ok(volumes.every((v) => v.state === "uploaded"));
    const volumeObjects = listed.filter((o) => /\/\d{6}_/.test(o.key));
    assert.equal(volumeObjects.length, volumes.length, "no orphan or missing volume objects");
    assert.equal(listed.length, volumes.length + 1, "the catalog copy is the only other object");
    // Where the reference tools cannot run (Windows), glacier's own restore reads the volumes.
    let dest: string;
    if (needs("bash", "age", "zstd", "tar") === undefined) {
      dest = await restoreWithReferenceTools(stateDb, root, listed, moto.endpoint, bucket);
    } else {
      dest = join(root, "restored");
      const restored = await runCli(["restore", stateDb, "--to", dest, "--yes"], { env });
      assert.equal(restored.code, 0, restored.stderr);
    }
    assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
  });
}

Deno.test("resume after kill -9 during the scan", async () => {
  await crashAndResume("after-scan-batch", []);
});

Deno.test("resume after kill -9 in the middle of building a volume", async () => {
  await crashAndResume("mid-volume-build:3", []);
});

Deno.test("resume after kill -9 between volume build and upload", async () => {
  await crashAndResume("after-volume-built:2", []);
});

Deno.test("resume after kill -9 mid multipart upload continues from the last part", async () => {
  await crashAndResume("after-part-uploaded:2", ["--num-upload-workers", "1"], (stderr) => {
    assert.match(stderr, /continuing upload of \S+: 2 of 3 parts already sent/);
  });
});
