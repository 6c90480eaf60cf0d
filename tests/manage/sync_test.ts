/** `glacier sync` against moto: volumes deleted behind the catalog's back, strays, size changes. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../../testing/run_cli.ts";
import { makeTree, randomBytes } from "../../testing/tree.ts";
import { backupToFolder, readCatalog, sandbox, withMotoBucket } from "./helpers.ts";

/** The whole body of an object. */
async function download(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("sync marks deleted volumes missing, lists strays and size changes, and heals", async () => {
  await withMotoBucket(async ({ box, storage, env, backup, moto, bucket }) => {
    await makeTree(box.src, { bigFiles: [700_000, 700_000, 700_000], smallFiles: 20 });
    const stateDb = await backup("--test-run", "--volume-size", "1MiB", "--prefix", "nightly");
    const { volumes, backupId } = readCatalog(stateDb, (c) => ({
      volumes: c.volumes(),
      backupId: c.settings().backupId,
    }));
    assert.ok(volumes.length >= 3);
    const folder = `nightly/${backupId}/`;
    const sync = () => runCli(["sync", stateDb], { env });

    const clean = await sync();
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stderr, new RegExp(`in sync: ${volumes.length} volumes`));
    // The backup's folder is named in the bucket, not glued to the endpoint's URL.
    assert.match(clean.stderr, new RegExp(` in s3://${bucket}/${folder} at http://`));

    // Behind the catalog's back: one volume deleted (a plain HTTP DELETE), one replaced by
    // something of another size, a stray object added; the catalog copy is expected.
    const [gone, resized] = volumes;
    const goneBytes = await download(await storage.getObject(gone.objectKey));
    const deleted = await fetch(`${moto.endpoint}/${bucket}/${gone.objectKey}`, {
      method: "DELETE",
    });
    await deleted.body?.cancel();
    assert.equal(deleted.status, 204);
    await storage.putObject(resized.objectKey, randomBytes(1000), "STANDARD");
    await storage.putObject(`${folder}stray.bin`, randomBytes(10), "STANDARD");
    await storage.putObject(`${folder}catalog.sqlite3.age`, randomBytes(10), "STANDARD");
    await storage.putObject(`nightly/other/${gone.name}`, randomBytes(10), "STANDARD");

    const first = await sync();
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, new RegExp(`missing from the bucket: ${gone.name}; marked missing`));
    assert.match(
      first.stderr,
      new RegExp(`size differs: ${resized.name} is 1000 bytes in the bucket but ${resized.size} `),
    );
    assert.match(
      first.stderr,
      new RegExp(`not in the state database \\(left alone\\): ${folder}stray\\.bin`),
    );
    assert.doesNotMatch(first.stderr, /catalog\.sqlite3/);
    assert.doesNotMatch(first.stderr, /nightly\/other/);
    assert.match(first.stderr, /3 differences/);
    // Nothing is deleted from the bucket.
    assert.ok(await storage.headObject(`${folder}stray.bin`));

    const after = readCatalog(stateDb, (c) => ({
      volumes: c.volumes(),
      goneFiles: c.filesOfVolume(gone.id, 0, 100_000),
      otherFiles: c.filesOfVolume(volumes[2].id, 0, 100_000),
    }));
    assert.equal(after.volumes.find((v) => v.id === gone.id)!.state, "missing");
    assert.equal(after.volumes.find((v) => v.id === resized.id)!.state, "uploaded");
    assert.ok(after.goneFiles.length > 0);
    assert.ok(after.goneFiles.every((f) => f.state === "missing"));
    assert.ok(after.otherFiles.every((f) => f.state === "stored"));
    const shown = await runCli(["show", stateDb]);
    assert.match(shown.stdout, /gone: +1 missing/);

    // Still gone: reported again, exit 1.
    const second = await sync();
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`still missing from the bucket: ${gone.name}`));

    // Put back (and the resized one restored, the stray removed): uploaded again, then in sync.
    await storage.putObject(gone.objectKey, goneBytes, "STANDARD");
    await storage.deleteObject(resized.objectKey);
    await storage.deleteObject(`${folder}stray.bin`);
    const third = await sync();
    assert.equal(third.code, 1);
    assert.match(
      third.stderr,
      new RegExp(`back in the bucket: ${gone.name}; marked uploaded again`),
    );
    assert.match(third.stderr, new RegExp(`missing from the bucket: ${resized.name}`));
    const healed = readCatalog(stateDb, (c) => ({
      gone: c.volume(gone.id),
      files: c.filesOfVolume(gone.id, 0, 100_000),
    }));
    assert.equal(healed.gone.state, "uploaded");
    assert.ok(healed.files.every((f) => f.state === "stored"));
  });
});

Deno.test("sync leaves volumes that are not uploaded yet alone", async () => {
  await withMotoBucket(async ({ box, env, backup }) => {
    await makeTree(box.src, { bigFiles: [700_000, 700_000] });
    const stateDb = await backup("--test-run", "--volume-size", "1MiB");
    // Make it look like an unfinished backup: the last volume only built.
    readCatalog(stateDb, (c) => {
      const last = c.volumes().at(-1)!;
      c.transaction(() =>
        c.db.prepare("UPDATE volumes SET state = 'built' WHERE id = ?").run(last.id)
      );
    });
    const result = await runCli(["sync", stateDb], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readCatalog(stateDb, (c) => c.volumes().at(-1)!.state), "built");
  });
});

Deno.test("sync --bucket compares with another folder bucket; bad buckets fail cleanly", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src);
    const stateDb = await backupToFolder(box);
    const copy = join(box.root, "copy");
    await Deno.mkdir(copy);
    // An empty copy of the bucket: every volume is missing there.
    const moved = await runCli(["sync", "--bucket", `file://${copy}`, stateDb]);
    assert.equal(moved.code, 1, moved.stderr);
    assert.match(moved.stderr, /missing from the bucket: 000001_/);
    const bad = await runCli(["sync", "--bucket", "Not_A_Bucket", stateDb]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: invalid bucket "Not_A_Bucket"/);
    const absent = await runCli(["sync", "--bucket", `file://${join(box.root, "nope")}`, stateDb]);
    assert.equal(absent.code, 3);
    assert.match(absent.stderr, /^error: folder .*nope does not exist\n$/);
  } finally {
    await box.cleanup();
  }
});
