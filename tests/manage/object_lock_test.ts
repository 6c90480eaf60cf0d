/**
 * Immutable backups end to end on moto, which enforces S3 Object Lock: a backup with
 * `--object-lock-days` writes every object with a retention date, and `delete` shows a locked
 * volume with its date, never tries it, and leaves the object in the bucket.
 */
import assert from "node:assert/strict";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { runCli } from "../../testing/run_cli.ts";
import { makeTree } from "../../testing/tree.ts";
import { readCatalog, withMotoBucket } from "./helpers.ts";
import { testS3Client } from "../../testing/moto_sandbox.ts";

const DAY = 24 * 60 * 60 * 1000;

Deno.test("a backup with --object-lock-days locks every object, and delete refuses a locked volume naming its date", async () => {
  await withMotoBucket(async ({ box, storage, env, backup, moto, bucket }) => {
    await makeTree(box.src, { bigFiles: [700_000, 700_000], smallFiles: 10 });
    const started = Date.now();
    const stateDb = await backup("--test-run", "--volume-size", "1MiB", "--object-lock-days", "1");
    const ended = Date.now();
    const volumes = readCatalog(stateDb, (c) => c.volumes());
    assert.ok(volumes.length >= 2);
    // Stored, so that `resume` locks the objects it writes the same way.
    assert.deepEqual(readCatalog(stateDb, (c) => c.settings().objectLock), {
      mode: "GOVERNANCE",
      days: 1,
    });

    // Read the retention back with a plain SDK client, not through the program's own code.
    const client = testS3Client(moto.endpoint);
    const keys: string[] = [];
    for await (const object of storage.listObjects("")) keys.push(object.key);
    assert.ok(keys.length === volumes.length + 1, `volumes and the catalog copy: ${keys}`);
    const retention = new Map<string, Date>();
    for (const key of keys) {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(head.ObjectLockMode, "GOVERNANCE", key);
      const until = head.ObjectLockRetainUntilDate!;
      assert.ok(until, `${key} has a retention date`);
      // now + 1 day, counted at upload (S3 keeps it to the second).
      assert.ok(
        until.getTime() >= started + DAY - 1000 && until.getTime() <= ended + DAY + 1000,
        `${key}: retained until ${until.toISOString()}`,
      );
      retention.set(key, until);
    }
    console.log(
      [...retention].map(([k, d]) => `${k} retained until ${d.toISOString()}`).join("\n"),
    );

    const victim = volumes[0];
    const refused = await runCli(["delete", "--files", victim.name, "--yes", stateDb], { env });
    assert.notEqual(refused.code, 0, refused.stderr);
    const until = retention.get(victim.objectKey)!.toISOString();
    assert.match(
      refused.stderr,
      new RegExp(
        `${victim.name} is locked \\(Object Lock, governance\\) until ${until}: it will not be deleted`,
      ),
    );
    assert.match(refused.stderr, /nothing was deleted/);
    assert.ok(await storage.headObject(victim.objectKey), "the locked volume is still there");
    assert.equal(readCatalog(stateDb, (c) => c.volume(victim.id).state), "uploaded");

    const estimate = await runCli(["estimate", stateDb], { env });
    assert.equal(estimate.code, 0, estimate.stderr);
    assert.match(
      estimate.stdout,
      /locked for 1 day after upload; locked volumes cannot be removed early/,
    );
    client.destroy();
  }, { objectLock: true });
});
