/**
 * An end-to-end backup and restore against s3rver, a second S3 server: the backup ends (the
 * cleanup of unfinished uploads, which s3rver does not implement, is skipped with one warning
 * instead of being retried for ever) and the restore gives back the same tree.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createBucket } from "../../testing/moto.ts";
import { s3rverAwsEnv, startS3rver } from "../../testing/s3rver.ts";
import { diffTrees, makeTree } from "../../testing/tree.ts";
import { runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";

Deno.test("backup and restore against s3rver", async () => {
  const server = await startS3rver();
  const root = await Deno.makeTempDir({ prefix: "glacier-s3rver-test-" });
  try {
    const bucket = "s3rver-e2e";
    await createBucket(server.endpoint, bucket);
    const env = {
      ...s3rverAwsEnv(server.endpoint),
      AWS_CONFIG_FILE: join(root, "none"),
      AWS_SHARED_CREDENTIALS_FILE: join(root, "none"),
    };
    const src = join(root, "src");
    await Deno.mkdir(src);
    await makeTree(src, { bigFiles: [700_000, 700_000], smallFiles: 20 });

    // s3rver has no archive classes and no RestoreObject: back up in STANDARD.
    const backup = await runCli([
      "backup",
      "--src-dirs",
      src,
      "--bucket",
      bucket,
      "--storage-class",
      "STANDARD",
      "--volume-size",
      "1MiB",
      "--state-dir",
      join(root, "state"),
    ], { env });
    assert.equal(backup.code, 0, backup.stderr);
    const warnings = backup.stderr.split("\n").filter((line) => line.startsWith("warn:"));
    assert.equal(warnings.length, 1, backup.stderr);
    assert.match(warnings[0], /cleanup of unfinished uploads skipped: .*NotImplemented/);

    const dest = join(root, "restored");
    const restore = await runCli(["restore", stateDbFrom(backup), "--to", dest, "--yes"], { env });
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
  } finally {
    await server.stop();
    await Deno.remove(root, { recursive: true });
  }
});
