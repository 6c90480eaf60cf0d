/**
 * End-to-end restores from a real S3 server (moto over HTTP) after real `glacier backup` runs in
 * DEEP_ARCHIVE, with every S3 call the restore makes recorded by a proxy: only the volumes
 * holding wanted files are thawed, nothing is requested twice, a delayed thaw is waited for, and
 * the catalog copy in the bucket replaces a lost state database.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { testAwsEnv } from "../../testing/moto.ts";
import {
  backupToMotoSandbox,
  makeMotoSandbox,
  type MotoSandbox,
} from "../../testing/moto_sandbox.ts";
import { diffTrees, makeTree } from "../../testing/tree.ts";
import { type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { sh } from "../../testing/volumes.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";
import {
  assertNoSecrets,
  delayMotoRestores,
  type RecordingProxy,
  runCliUntil,
  startRecordingProxy,
} from "./helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needs, onWindows, skipOnWindows, where } from "../../testing/platform.ts";

interface Ctx extends MotoSandbox {
  /** Environment pointing at the proxy (for restores). */
  proxyEnv: Record<string, string>;
  /** The proxy the restores go through. */
  proxy: RecordingProxy;
  backup: (...extra: string[]) => Promise<string>;
  /** Runs `glacier restore ARGS` through the proxy. */
  restore: (args: string[], env?: Record<string, string>) => Promise<CliResult>;
}

async function withBackup(fn: (ctx: Ctx) => Promise<void>) {
  const box = await makeMotoSandbox({ prefix: "glacier-restore-s3-test" });
  const proxy = startRecordingProxy(box.moto.endpoint, box.bucket);
  const proxyEnv = { ...box.env, ...testAwsEnv(proxy.endpoint) };
  try {
    await makeTree(box.src, { bigFiles: [600_000, 600_000, 600_000, 600_000], smallFiles: 40 });
    await fn({
      ...box,
      proxyEnv,
      proxy,
      backup: async (...extra) => {
        const result = await backupToMotoSandbox(box, "--volume-size", "1MiB", ...extra);
        assert.equal(result.code, 0, result.stderr);
        return stateDbFrom(result);
      },
      restore: async (args, extraEnv = {}) => {
        const result = await runCli(["restore", ...args], {
          env: { ...proxyEnv, GLACIER_RESTORE_POLL_MS: "100", ...extraEnv },
        });
        assertNoSecrets(result.stdout + result.stderr);
        return result;
      },
    });
  } finally {
    await proxy.stop();
    await box.cleanup();
  }
}

function volumesOf(stateDb: string) {
  const catalog = Catalog.open(stateDb);
  try {
    return { volumes: catalog.volumes(), settings: catalog.settings() };
  } finally {
    catalog.close();
  }
}

Deno.test("a partial restore thaws exactly the volumes holding the wanted files", async () => {
  await withBackup(async ({ root, src, storage, proxy, backup, restore }) => {
    const stateDb = await backup();
    const { volumes } = volumesOf(stateDb);
    const catalog = Catalog.open(stateDb);
    const wantedIds = new Set(
      catalog.db.prepare(
        "SELECT DISTINCT volume_id FROM files WHERE archive_path LIKE '%/src/big/random-1.bin' " +
          "OR archive_path LIKE '%/src/docs%'",
      ).all().map((r) => r.volume_id as number),
    );
    catalog.close();
    const wantedKeys = volumes.filter((v) => wantedIds.has(v.id)).map((v) => v.objectKey);
    assert.ok(wantedKeys.length >= 2 && wantedKeys.length < volumes.length, "test setup");
    const dest = join(root, "restored");
    const args = [
      stateDb,
      "--to",
      dest,
      "--include",
      `${src}/big/random-1.bin`,
      "--include",
      "**/docs",
    ];

    const dry = await restore([...args, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /to thaw: \d+ volumes?, .* in DEEP_ARCHIVE; tier Standard/);
    assert.match(dry.stderr, /estimated cost .*retrieval <?\$[\d.]+.*total <?\$[\d.]+/);
    assert.match(dry.stderr, /expected wait: within 12 h/);

    const unconfirmed = await restore(args);
    assert.equal(unconfirmed.code, 2, unconfirmed.stderr);
    assert.match(unconfirmed.stderr, /--yes/);
    assert.deepEqual(proxy.restoreRequests(), [], "nothing may be requested before --yes");

    const expedited = await restore([...args, "--yes", "--tier", "expedited"]);
    assert.equal(expedited.code, 2, expedited.stderr);
    assert.match(expedited.stderr, /expedited is not offered for DEEP_ARCHIVE/);

    const result = await restore([...args, "--yes"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(proxy.restoreRequests().sort(), wantedKeys.sort());
    for (const volume of volumes) {
      const info = await storage.headObject(volume.objectKey);
      assert.equal(info?.restore, wantedIds.has(volume.id) ? "restored" : undefined, volume.name);
    }
    assert.deepEqual(proxy.gets().sort(), wantedKeys.sort(), "only thawed volumes are fetched");
    const restoredSrc = join(dest, archivePath(src));
    assert.deepEqual(await diffTrees(join(src, "docs"), join(restoredSrc, "docs")), []);
    assert.deepEqual(
      await Deno.readFile(join(restoredSrc, "big/random-1.bin")),
      await Deno.readFile(join(src, "big/random-1.bin")),
    );
    const top = [...Deno.readDirSync(restoredSrc)].map((e) => e.name).sort();
    assert.deepEqual(top, ["big", "docs"], "nothing else is restored");
    assert.deepEqual([...Deno.readDirSync(join(restoredSrc, "big"))].map((e) => e.name), [
      "random-1.bin",
    ]);
    await assert.rejects(Deno.lstat(join(dest, ".glacier-restore")), Deno.errors.NotFound);
  });
});

Deno.test("a restore stopped after its thaw requests continues without requesting again", async () => {
  await withBackup(async ({ root, src, proxy, backup, restore }) => {
    const stateDb = await backup();
    const { volumes } = volumesOf(stateDb);
    assert.ok(volumes.length >= 3);
    const dest = join(root, "restored");
    const args = [stateDb, "--to", dest, "--yes"];

    const first = await restore([...args, "--no-wait"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /run the same command again/);
    const keys = volumes.map((v) => v.objectKey).sort();
    assert.deepEqual(proxy.restoreRequests().sort(), keys);
    assert.deepEqual(proxy.gets(), [], "--no-wait downloads nothing");

    const second = await restore(args);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(proxy.restoreRequests().sort(), keys, "no thaw is requested twice");
    assert.deepEqual(proxy.gets().filter((k) => keys.includes(k)).sort(), keys);
    assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);

    const getsBefore = proxy.gets().length;
    const third = await restore(args);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, /already restored/);
    assert.equal(proxy.gets().length, getsBefore, "extracted volumes are not fetched again");
    assert.deepEqual(proxy.restoreRequests().sort(), keys);

    const catalog = Catalog.open(stateDb);
    const requests = catalog.db.prepare("SELECT requests FROM restore_thaws").all();
    catalog.close();
    assert.deepEqual(requests.map((r) => r.requests), volumes.map(() => 1));
  });
});

Deno.test("expedited refused for capacity stops with one line; expedited,standard falls back", async () => {
  await withBackup(async ({ root, src, proxy, backup, restore }) => {
    // Expedited is offered for Flexible Retrieval (GLACIER), not for DEEP_ARCHIVE.
    const stateDb = await backup("--storage-class", "GLACIER");
    const keys = volumesOf(stateDb).volumes.map((v) => v.objectKey).sort();
    proxy.refuseTier("Expedited");
    const dest = join(root, "restored");

    const refused = await restore([stateDb, "--to", dest, "--yes", "--tier", "expedited"]);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(
      refused.stderr,
      /AWS has no expedited capacity now: try later, or use --tier expedited,standard/,
    );
    assert.doesNotMatch(refused.stderr, /retrying in/, "the refusal is not retried");
    const asked = proxy.requests.filter((r) => r.tier !== undefined);
    assert.ok(asked.length >= 1 && asked.length <= keys.length, `${asked.length} requests`);
    assert.ok(asked.every((r) => r.tier === "Expedited"));

    const fallback = await restore([
      stateDb,
      "--to",
      dest,
      "--yes",
      "--tier",
      "expedited,standard",
    ]);
    assert.equal(fallback.code, 0, fallback.stderr);
    assert.match(fallback.stderr, /AWS has no expedited capacity now for \S+: requesting Standard/);
    const standard = proxy.requests.filter((r) => r.tier === "Standard").map((r) => r.key);
    assert.deepEqual(standard.sort(), keys, "each volume is requested in Standard");
    assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);

    const twice = await restore([stateDb, "--to", dest, "--tier", "standard,standard"]);
    assert.equal(twice.code, 2, twice.stderr);
    assert.match(twice.stderr, /names a tier twice/);
  });
});

Deno.test("a restore waits for a delayed thaw, then finishes", async () => {
  await withBackup(async ({ moto, root, src, backup, restore }) => {
    const stateDb = await backup();
    // The first check comes right after the request; two more find it still thawing.
    await delayMotoRestores(moto.endpoint, 3);
    const dest = join(root, "restored");
    const result = await restore([stateDb, "--to", dest, "--yes", "--include", `${src}/docs`]);
    assert.equal(result.code, 0, result.stderr);
    const waits = result.stderr.match(/waiting for \d+ volumes? to thaw/g) ?? [];
    assert.ok(waits.length >= 2, `the restore must have waited:\n${result.stderr}`);
    assert.match(result.stderr, /is thawed/);
    assert.deepEqual(await diffTrees(join(src, "docs"), join(dest, archivePath(src), "docs")), []);
    const catalog = Catalog.open(stateDb);
    const thaws = catalog.db.prepare("SELECT requested_at, ready_at FROM restore_thaws").all();
    catalog.close();
    assert.ok(thaws.length >= 1);
    for (const thaw of thaws) assert.ok(thaw.ready_at! >= thaw.requested_at!);
  });
});

Deno.test("a thaw ready at once is not waited on: default poll interval, done in seconds", async () => {
  await withBackup(async ({ root, src, backup, restore, proxy }) => {
    const stateDb = await backup();
    const dest = join(root, "restored");
    const started = Date.now();
    // An empty value leaves the default interval (15 minutes for DEEP_ARCHIVE) in force.
    const result = await restore(
      [stateDb, "--to", dest, "--yes", "--include", `${src}/docs`],
      { GLACIER_RESTORE_POLL_MS: "" },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.ok(proxy.restoreRequests().length >= 1, "a thaw was requested");
    assert.doesNotMatch(result.stderr, /waiting for \d+ volumes? to thaw/);
    assert.ok(Date.now() - started < 60_000, "moto thaws at once: no 15-minute wait");
    assert.deepEqual(await diffTrees(join(src, "docs"), join(dest, archivePath(src), "docs")), []);
  });
});

Deno.test(
  where(
    skipOnWindows("Deno cannot send Ctrl-C (SIGINT) to a child process there"),
    "Ctrl-C while waiting for a thaw stops cleanly; the rerun requests nothing again",
    async () => {
      await withBackup(async ({ moto, root, src, proxy, proxyEnv, backup, restore }) => {
        const stateDb = await backup();
        await delayMotoRestores(moto.endpoint, 2);
        const dest = join(root, "restored");
        const args = ["restore", stateDb, "--to", dest, "--yes", "--include", `${src}/docs`];
        const stopped = await runCliUntil(
          args,
          { ...proxyEnv, GLACIER_RESTORE_POLL_MS: "600000" },
          /waiting for 1 volume to thaw/,
        );
        assert.ok(stopped.interrupted, stopped.stderr);
        assert.equal(stopped.code, 3, stopped.stderr);
        assert.match(stopped.stderr, /restore stopped; run the same command again/);
        assert.equal(proxy.restoreRequests().length, 1);

        const resumed = await restore(args.slice(1));
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.equal(proxy.restoreRequests().length, 1, "the thaw is not requested again");
        assert.deepEqual(
          await diffTrees(join(src, "docs"), join(dest, archivePath(src), "docs")),
          [],
        );
      });
    },
  ),
);

Deno.test("a restore works from the bucket's catalog copy with no local state", async () => {
  await withBackup(async ({ root, src, bucket, storage, backup, restore }) => {
    const stateDb = await backup();
    const { settings } = volumesOf(stateDb);
    const key = await runCli(["key", "export", stateDb]);
    const keyFile = join(root, "key.txt");
    await Deno.writeTextFile(keyFile, key.stdout);
    const copy = await storage.headObject(`${settings.backupId}/catalog.sqlite3.age`);
    assert.equal(copy?.storageClass, "STANDARD");
    await Deno.remove(join(root, "state"), { recursive: true });

    const newState = join(root, "new-state");
    const dest = join(root, "restored");
    const args = ["--bucket", bucket, "--backup-id", settings.backupId, "--to", dest];
    const noKey = await restore([...args, "--state-dir", newState, "--yes"]);
    assert.equal(noKey.code, 2, noKey.stderr);
    assert.match(noKey.stderr, /--identity/);

    const withKey = [...args, "--identity", keyFile, "--state-dir", newState, "--yes"];
    const result = await restore(withKey);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
    const fetched = join(newState, `${settings.backupId}_backup_statedb.sqlite3`);
    if (!onWindows) { // no modes there: owner_only_test covers its access lists
      assert.equal((await Deno.stat(fetched)).mode! & 0o077, 0, "the fetched catalog is private");
    }

    const again = await restore(withKey);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /fetched from the bucket earlier/);
    assert.match(again.stderr, /already restored/);
  });
});

Deno.test(
  where(
    needs("bash", "age-keygen"),
    "a --recipient backup restores from its catalog copy with the user's identity",
    async () => {
      await withBackup(async ({ root, src, bucket, backup, restore }) => {
        const keyFile = join(root, "mine.txt");
        await sh(`age-keygen -o '${keyFile}' 2>/dev/null`);
        const recipient = (await sh(`age-keygen -y '${keyFile}'`)).trim();
        const stateDb = await backup("--recipient", recipient, "--prefix", "nightly");
        const { settings } = volumesOf(stateDb);
        await Deno.remove(join(root, "state"), { recursive: true });
        const dest = join(root, "restored");
        const result = await restore([
          "--bucket",
          bucket,
          "--prefix",
          "nightly",
          "--backup-id",
          settings.backupId,
          "--identity",
          keyFile,
          "--state-dir",
          join(root, "new-state"),
          "--to",
          dest,
          "--yes",
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
      });
    },
  ),
);
