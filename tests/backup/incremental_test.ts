/**
 * Incremental backups end to end against moto: a full backup, then two incrementals over a tree
 * that changes (files changed, added, deleted, renamed; a mode and an mtime changed alone). Each
 * incremental uploads only the changed bytes, each of the three backups restores byte for byte to
 * the tree of its moment, with and without local state, and a partial restore thaws only the
 * volumes holding the wanted files.
 */
import assert from "node:assert/strict";
import { join, sep as SEPARATOR } from "node:path";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { backupToMotoSandbox, makeMotoSandbox } from "../../testing/moto_sandbox.ts";
import { testAwsEnv } from "../../testing/moto.ts";
import { copyTree, diffTrees, randomBytes } from "../../testing/tree.ts";
import { type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { startRecordingProxy } from "../restore/helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";

/** Bytes of the volumes of the bucket (catalog copies left out). */
async function volumeBytes(
  box: { storage: { listObjects(p: string): AsyncIterable<{ key: string; size: number }> } },
) {
  let total = 0;
  for await (const object of box.storage.listObjects("")) {
    if (!object.key.includes("catalog.sqlite3")) total += object.size;
  }
  return total;
}

/** Copies the tree as it is now (modes and times kept), to compare restores with. */
async function snapshot(src: string, to: string): Promise<void> {
  await copyTree(src, to);
}

/** What a test reads of a catalog: `fn` gets it open, read-only. */
function readCatalog<T>(stateDb: string, fn: (catalog: Catalog) => T): T {
  const catalog = Catalog.open(stateDb, { readOnly: true });
  try {
    return fn(catalog);
  } finally {
    catalog.close();
  }
}

function catalogFacts(stateDb: string) {
  return readCatalog(stateDb, (catalog) => ({
    backupId: catalog.settings().backupId,
    chain: catalog.chain().map((link) => link.backupId),
    ownVolumes: catalog.ownVolumes().map((v) => v.objectKey),
    allVolumes: catalog.volumes().map((v) => v.objectKey),
  }));
}

/** The object keys of the volumes holding files under `folder`. */
function volumesHolding(stateDb: string, folder: string): string[] {
  return readCatalog(stateDb, (catalog) =>
    (catalog.db.prepare(
      "SELECT DISTINCT v.object_key FROM files f JOIN volumes v ON v.id = f.volume_id " +
        "WHERE f.path = ? OR f.path LIKE ? || ? || '%' ORDER BY v.object_key",
    ).all(folder, folder, SEPARATOR) as { object_key: string }[]).map((r) => r.object_key));
}

Deno.test("incrementals upload only changes and each backup of the chain restores its moment", async () => {
  const box = await makeMotoSandbox({ prefix: "glacier-incremental-test" });
  const proxy = startRecordingProxy(box.moto.endpoint, box.bucket);
  const proxyEnv = { ...box.env, ...testAwsEnv(proxy.endpoint), GLACIER_RESTORE_POLL_MS: "100" };
  const { src, root } = box;
  const write = (path: string, data: Uint8Array | string) =>
    typeof data === "string"
      ? Deno.writeTextFile(join(src, path), data)
      : Deno.writeFile(join(src, path), data);
  const run = async (args: string[], env = box.env): Promise<CliResult> => {
    const result = await runCli(args, { env });
    return result;
  };
  const backup = async (...extra: string[]) => {
    const before = await volumeBytes(box);
    const result = await backupToMotoSandbox(box, "--volume-size", "1MiB", ...extra);
    assert.equal(result.code, 0, result.stderr);
    const stateDb = stateDbFrom(result);
    const grown = (await volumeBytes(box)) - before;
    const estimate = await run(["estimate", stateDb]);
    assert.equal(estimate.code, 0, estimate.stderr);
    console.log(`backup ${extra.join(" ") || "(full)"}: uploaded ${grown} bytes of volumes`);
    console.log(estimate.stdout.trim());
    return { stateDb, grown };
  };
  try {
    for (const dir of ["a", "b", "docs"]) await Deno.mkdir(join(src, dir));
    await write("a/one.bin", randomBytes(600_000));
    await write("a/two.bin", randomBytes(600_000));
    await write("b/three.bin", randomBytes(600_000));
    await write("docs/x.txt", "x".repeat(1000));
    await write("docs/y.txt", "y".repeat(1000));
    await write("mode.txt", "mode only");
    await write("touch.txt", "mtime only");
    const full = await backup();
    await snapshot(src, join(root, "moment1"));

    // Changes: one changed, one added, one deleted, one renamed, a mode and an mtime alone.
    await new Promise((r) => setTimeout(r, 1100));
    await write("a/one.bin", randomBytes(600_000));
    await write("b/new.bin", randomBytes(300_000));
    await Deno.remove(join(src, "b/three.bin"));
    await Deno.rename(join(src, "docs/x.txt"), join(src, "docs/x-renamed.txt"));
    await Deno.chmod(join(src, "mode.txt"), 0o600);
    await Deno.utime(join(src, "touch.txt"), new Date(), new Date("2020-01-01T00:00:00Z"));
    const second = await backup("--base", "latest");
    await snapshot(src, join(root, "moment2"));
    // The changed bytes are ~900 kB of random data (incompressible) and a few small files.
    assert.ok(second.grown > 900_000 && second.grown < 1_000_000, `${second.grown} bytes`);

    await new Promise((r) => setTimeout(r, 1100));
    await write("docs/y.txt", "Y".repeat(1000));
    await write("docs/z.bin", randomBytes(200_000));
    await Deno.remove(join(src, "a/two.bin"));
    const third = await backup("--base", second.stateDb);
    await snapshot(src, join(root, "moment3"));
    assert.ok(third.grown > 200_000 && third.grown < 260_000, `${third.grown} bytes`);

    const facts = [full, second, third].map((b) => catalogFacts(b.stateDb));
    assert.deepEqual(facts[2].chain, facts.map((f) => f.backupId));
    assert.equal(facts[2].ownVolumes.length, 1);

    // The 3rd's list of deleted paths holds a/two.bin; the 2nd's b/three.bin and the old name.
    const keyFile = join(root, "key.txt");
    await Deno.writeTextFile(keyFile, (await run(["key", "export", full.stateDb])).stdout);

    // A partial restore of docs/ from the 3rd thaws exactly the volumes holding docs/.
    const wanted = volumesHolding(third.stateDb, join(src, "docs"));
    assert.ok(wanted.length < facts[2].allVolumes.length, `docs is in ${wanted} only`);
    proxy.requests.length = 0;
    const dest = join(root, "restored-docs");
    const partial = await run(
      ["restore", third.stateDb, "--to", dest, "--yes", "--include", join(src, "docs")],
      proxyEnv,
    );
    assert.equal(partial.code, 0, partial.stderr);
    assert.deepEqual([...new Set(proxy.restoreRequests())].sort(), wanted);
    assert.deepEqual([...new Set(proxy.gets())].sort(), wanted, "downloads");
    assert.deepEqual(
      await diffTrees(join(root, "moment3", "docs"), join(dest, archivePath(src), "docs")),
      [],
    );
    // Each backup restores to the tree of its moment, from local state...
    for (const [i, b] of [full, second, third].entries()) {
      const dest = join(root, `restored-local-${i + 1}`);
      const result = await run(["restore", b.stateDb, "--to", dest, "--yes"], proxyEnv);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        await diffTrees(join(root, `moment${i + 1}`), join(dest, archivePath(src))),
        [],
      );
    }
    // ... and from the bucket's catalog copy, without local state.
    for (const [i, f] of facts.entries()) {
      const dest = join(root, `restored-bucket-${i + 1}`);
      const result = await run([
        "restore",
        "--bucket",
        box.bucket,
        "--backup-id",
        f.backupId,
        "--identity",
        keyFile,
        "--state-dir",
        join(root, `no-state-${i + 1}`),
        "--to",
        dest,
        "--yes",
      ], proxyEnv);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        await diffTrees(join(root, `moment${i + 1}`), join(dest, archivePath(src))),
        [],
      );
    }
  } finally {
    await proxy.stop();
    await box.cleanup();
  }
});
