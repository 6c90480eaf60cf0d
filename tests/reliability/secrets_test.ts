/**
 * Secrets: the state database, local volumes and exported keys are private to their owner
 * (mode 0600), and no secret key ever reaches a log line, an error message or normal output.
 */
import { onWindows } from "../../testing/platform.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeTree } from "../../testing/tree.ts";
import { assertKilled, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";

const SECRET = /AGE-SECRET-KEY-1/;

Deno.test("private files are mode 0600 and no secret key is ever logged", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-secrets-" });
  try {
    const src = join(root, "src");
    const bucket = join(root, "bucket");
    const state = join(root, "state");
    const work = join(root, "work");
    await Deno.mkdir(src);
    await Deno.mkdir(bucket);
    await makeTree(src, { smallFiles: 20 });
    const args = [
      "backup",
      "--src-dirs",
      src,
      "--bucket",
      `file://${bucket}`,
      "--volume-size",
      "1MiB",
      "--state-dir",
      state,
      join(work, "vol.tar"),
    ];
    // Stop right after the first volume is built to look at the local volume file.
    const stopped = await runCli(args, { env: { GLACIER_TEST_CRASH_AT: "after-volume-built" } });
    assertKilled(stopped);
    const stateDb = stateDbFrom(stopped);
    const volumes = [...Deno.readDirSync(work)].filter((e) => e.isFile);
    assert.ok(volumes.length > 0);
    for (const v of volumes) {
      // Windows has no modes (owner_only_test covers its access lists).
      if (!onWindows) assert.equal(Deno.statSync(join(work, v.name)).mode! & 0o777, 0o600, v.name);
    }
    const outputs = [stopped.stdout + stopped.stderr];
    for (
      const command of [
        ["resume", stateDb],
        ["show", stateDb],
        ["verify", stateDb],
        ["sync", stateDb],
        ["estimate", stateDb],
        ["decrypt", stateDb, join(root, "nothing-here")],
        ["resume", join(root, "missing.sqlite3")],
      ]
    ) {
      const result = await runCli(command);
      outputs.push(result.stdout + result.stderr);
    }
    for (const name of [stateDb, `${stateDb}-wal`, `${stateDb}-shm`]) {
      try {
        if (!onWindows) assert.equal(Deno.statSync(name).mode! & 0o777, 0o600, name);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }

    const keyFile = join(root, "key.txt");
    const exported = await runCli(["key", "export", stateDb, "--output", keyFile]);
    assert.equal(exported.code, 0, exported.stderr);
    if (!onWindows) assert.equal(Deno.statSync(keyFile).mode! & 0o777, 0o600);
    assert.match(await Deno.readTextFile(keyFile), SECRET);
    assert.doesNotMatch(exported.stdout + exported.stderr, SECRET);
    const again = await runCli(["key", "export", stateDb, "--output", keyFile]);
    assert.equal(again.code, 2, "an existing key file is never overwritten");

    const catalog = Catalog.open(stateDb);
    assert.match(catalog.identity()!, SECRET, "the catalog does hold the key");
    catalog.close();
    for (const output of outputs) assert.doesNotMatch(output, SECRET);
    const log = await Deno.readTextFile(join(state, "logs", "main.log"));
    assert.ok(log.length > 0);
    assert.doesNotMatch(log, SECRET);
    if (!onWindows) {
      assert.equal(Deno.statSync(join(state, "logs", "main.log")).mode! & 0o777, 0o600);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
