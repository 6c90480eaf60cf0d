/**
 * Backups to a bucket with SSE-KMS encryption, where S3 answers UploadPart with an ETag that is
 * not the MD5 of the part. moto answers with plain MD5 ETags, so the fault proxy rewrites its
 * answers the way a KMS bucket gives them (a random ETag and `x-amz-server-side-encryption:
 * aws:kms`): the backup must finish and restore identically, and `--sse kms` must reach every
 * object written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { createBucket, type MotoServer, startMoto, testAwsEnv } from "../../testing/moto.ts";
import { startFaultProxy } from "../../testing/fault_proxy.ts";
import { makeTree } from "../../testing/tree.ts";
import { runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { diffRestored } from "../../testing/reference_restore.ts";
import { testS3Client, testStorage } from "../../testing/moto_sandbox.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";

const MiB = 1024 * 1024;
const KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/test-key";

/** moto behind a proxy that rewrites ETags, a bucket, a source tree, and the env to use them. */
async function withKmsProxy(
  rewrite: { kmsHeader: boolean; checksums?: "keep" | "drop" | "alter" },
  fn: (
    ctx: {
      moto: MotoServer;
      bucket: string;
      root: string;
      src: string;
      env: Record<string, string>;
      rewritten: () => number;
      md5Parts: () => number;
    },
  ) => Promise<void>,
) {
  const moto = await startMoto();
  const proxy = startFaultProxy({
    target: { hostname: "127.0.0.1", port: moto.port },
    rate: 0,
    seed: 1,
    rewriteEtags: rewrite,
  });
  const root = await Deno.makeTempDir({ prefix: "glacier-kms-" });
  try {
    const bucket = "kms-bucket";
    await createBucket(moto.endpoint, bucket);
    const src = join(root, "src");
    await Deno.mkdir(src);
    // A volume of two 16 MiB parts, and small files.
    await makeTree(src, { bigFiles: [20 * MiB, 1.5 * MiB], smallFiles: 50 });
    const env = {
      ...testAwsEnv(proxy.endpoint),
      AWS_CONFIG_FILE: join(root, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(root, "no-aws-credentials"),
    };
    await fn({
      moto,
      bucket,
      root,
      src,
      env,
      rewritten: () => proxy.counts().rewrittenEtags,
      md5Parts: () => proxy.counts().md5Parts,
    });
  } finally {
    await proxy.close();
    await moto.stop();
    await Deno.remove(root, { recursive: true });
  }
}

function backupArgs(src: string, bucket: string, root: string, ...extra: string[]): string[] {
  return [
    "backup",
    "--src-dirs",
    src,
    "--bucket",
    bucket,
    "--test-run",
    "--volume-size",
    "64MiB",
    "--state-dir",
    join(root, "state"),
    ...extra,
  ];
}

Deno.test("a backup to an SSE-KMS bucket, whose ETags are not MD5s, finishes and restores identically", async () => {
  await withKmsProxy(
    { kmsHeader: true },
    async ({ moto, bucket, root, src, env, rewritten, md5Parts }) => {
      const backup = await runCli(
        backupArgs(src, bucket, root, "--sse", "kms", "--sse-kms-key-id", KEY_ID),
        { env },
      );
      assert.equal(backup.code, 0, backup.stderr);
      assert.ok(rewritten() >= 3, `ETags rewritten: ${rewritten()}`);
      // The server's CRC32s vouched for every part: none went again with its MD5.
      assert.equal(md5Parts(), 0);
      const stateDb = stateDbFrom(backup);

      // The choice is stored for resume, and every object was written with SSE-KMS and the key.
      const catalog = Catalog.open(stateDb);
      try {
        assert.equal(catalog.settings().sse, "kms");
        assert.equal(catalog.settings().sseKmsKeyId, KEY_ID);
      } finally {
        catalog.close();
      }
      const client = testS3Client(moto.endpoint);
      const keys: string[] = [];
      for await (const object of testStorage(moto.endpoint, bucket).listObjects("")) {
        keys.push(object.key);
      }
      assert.ok(keys.length >= 2, keys.join(", "));
      for (const key of keys) {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        assert.equal(head.ServerSideEncryption, "aws:kms", key);
        assert.equal(head.SSEKMSKeyId, KEY_ID, key);
      }

      const dest = join(root, "restored");
      const restore = await runCli(["restore", stateDb, "--to", dest, "--yes"], {
        env: { ...env, GLACIER_RESTORE_POLL_MS: "100" },
      });
      assert.equal(restore.code, 0, restore.stderr);
      assert.deepEqual(await diffRestored(src, dest), []);
    },
  );
});

Deno.test("an SSE-KMS bucket that ignores CRC32s gets each part again with its MD5, and restores identically", async () => {
  await withKmsProxy(
    { kmsHeader: true, checksums: "drop" },
    async ({ bucket, root, src, env, md5Parts }) => {
      const backup = await runCli(backupArgs(src, bucket, root), { env });
      assert.equal(backup.code, 0, backup.stderr);
      // Neither the answer's CRC32 nor its ETag said anything of the bytes: each part (two of
      // 16 MiB and the rest) went again with an MD5, which the server checks.
      assert.equal(md5Parts(), 2);
      const dest = join(root, "restored");
      const restore = await runCli(["restore", stateDbFrom(backup), "--to", dest, "--yes"], {
        env,
      });
      assert.equal(restore.code, 0, restore.stderr);
      assert.deepEqual(await diffRestored(src, dest), []);
    },
  );
});

Deno.test("a part whose answer shows other bytes is caught as corruption: by its CRC32, else its ETag", async () => {
  const cases = [
    // The server's CRC32 is not the part's.
    { rewrite: { kmsHeader: true, checksums: "alter" as const }, why: /CRC32 00000000, sent/ },
    // No CRC32 in the answer, and an ETag that is not the MD5 without an encryption header.
    { rewrite: { kmsHeader: false, checksums: "drop" as const }, why: /ETag [0-9a-f]{32}, MD5/ },
  ];
  for (const { rewrite, why } of cases) {
    await withKmsProxy(rewrite, async ({ bucket, root, src, env }) => {
      const backup = await runCli(backupArgs(src, bucket, root), { env });
      assert.equal(backup.code, 3, backup.stderr);
      assert.match(backup.stderr, /arrived altered three times/);
      assert.match(backup.stderr, why);
    });
  }
});

Deno.test("--sse is checked: kms only, a key id needs it, and a folder bucket refuses it", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-kms-usage-" });
  try {
    const src = join(root, "src");
    await Deno.mkdir(src);
    await Deno.writeTextFile(join(src, "a.txt"), "a");
    const folder = `file://${join(root, "bucket")}`;
    const cases: [string[], RegExp][] = [
      [["--sse", "aes"], /the one kind offered is kms/],
      [["--sse-kms-key-id", KEY_ID], /--sse-kms-key-id needs --sse kms/],
      [["--sse", "kms"], /--sse kms needs an S3 bucket/],
    ];
    for (const [extra, message] of cases) {
      const result = await runCli(backupArgs(src, folder, root, ...extra));
      assert.equal(result.code, 2, `${extra.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
