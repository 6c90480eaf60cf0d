/**
 * The thaw wait (`waitForThaws`) driven directly: on S3 (moto, whose restores are made to take a
 * few status checks) each volume is handed on once, only after the bucket reports it thawed, and
 * a volume deleted meanwhile is reported gone; a folder bucket's volumes are ready at once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { runBackup } from "../../lib/backup/run_backup.ts";
import { BackupProgress } from "../../lib/backup/progress.ts";
import type { VolumePlan } from "../../lib/restore/plan.ts";
import { POLL_INTERVAL_ENV, requestThaw, volumeStatus } from "../../lib/restore/thaw.ts";
import { waitForThaws } from "../../lib/restore/wait_thaw.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import type { Storage } from "../../lib/storage/storage.ts";
import { makeMotoSandbox, testStorage } from "../../testing/moto_sandbox.ts";
import { recordingReporter } from "../../testing/recording_reporter.ts";
import { makeSandbox } from "../../testing/sandbox.ts";
import { makeTree } from "../../testing/tree.ts";
import { syntheticSettings } from "../manage/helpers.ts";
import { delayMotoRestores, startRecordingProxy } from "./helpers.ts";

/** Backs `src` up to `storage` in DEEP_ARCHIVE (three volumes, unencrypted); returns the catalog. */
async function deepArchiveBackup(
  root: string,
  src: string,
  bucket: string,
  storage: Storage,
): Promise<Catalog> {
  await makeTree(src, { bigFiles: [700_000, 700_000, 700_000] });
  const catalog = Catalog.create(
    join(root, "state.sqlite3"),
    syntheticSettings({
      sourceDirs: [src],
      bucket,
      workDir: join(root, "work"),
      workDirIsTemporary: false,
      volumeSize: 1024 * 1024,
      encrypt: false,
      storageClass: "DEEP_ARCHIVE",
    }),
    { recipients: [] },
  );
  await runBackup({
    catalog,
    storage,
    log: recordingReporter(),
    progress: new BackupProgress(),
    skipPaths: [],
    signal: new AbortController().signal,
  });
  return catalog;
}

/** Runs `fn` with the thaw wait checking every 20 ms. */
async function withFastPolls(fn: () => Promise<void>): Promise<void> {
  const before = Deno.env.get(POLL_INTERVAL_ENV);
  Deno.env.set(POLL_INTERVAL_ENV, "20");
  try {
    await fn();
  } finally {
    if (before === undefined) Deno.env.delete(POLL_INTERVAL_ENV);
    else Deno.env.set(POLL_INTERVAL_ENV, before);
  }
}

const plans = (catalog: Catalog): VolumePlan[] =>
  catalog.volumes().map((volume) => ({ volume, entries: 1, bytes: volume.size! }));

Deno.test("the thaw wait hands each S3 volume on once moto reports it thawed; a deleted one is gone", async () => {
  const box = await makeMotoSandbox({ prefix: "glacier-thaw-test" });
  const proxy = startRecordingProxy(box.moto.endpoint, box.bucket);
  const storage = testStorage(proxy.endpoint, box.bucket);
  const catalog = await deepArchiveBackup(box.root, box.src, box.bucket, box.storage);
  try {
    const [kept, deleted, late] = plans(catalog);
    assert.ok(late, "test setup: three volumes");
    // Each thaw takes three more status checks after the first before moto says it is done.
    await delayMotoRestores(box.moto.endpoint, 3);
    for (const plan of [kept, deleted, late]) {
      await requestThaw(storage, catalog, plan.volume, "Standard", 1);
    }
    assert.equal((await volumeStatus(storage, kept.volume, false)).readiness, "thawing");
    await storage.deleteObject(deleted.volume.objectKey);
    proxy.requests.length = 0;

    const ready: string[] = [];
    const gone: string[] = [];
    const log = recordingReporter();
    await withFastPolls(() =>
      waitForThaws(
        [kept, deleted, late].map((plan) => ({ plan, storageClass: "DEEP_ARCHIVE" })),
        {
          catalog,
          storage,
          folderBucket: false,
          tier: "Standard",
          days: 1,
          log,
          signal: AbortSignal.timeout(30_000),
          onReady: (plan) => ready.push(plan.volume.name),
          onGone: (plan) => gone.push(plan.volume.name),
        },
      )
    );

    assert.deepEqual(ready, [kept.volume.name, late.volume.name]);
    assert.deepEqual(gone, [deleted.volume.name]);
    // Ready only once moto's restore state manager moved on: not at the first check, made at
    // once, which already dropped the deleted volume (so the wait starts with two).
    const waits = log.lines.filter((l) => /waiting for/.test(l)).map((l) =>
      /for (\d+)/.exec(l)![1]
    );
    assert.equal(waits[0], "2", log.lines.join("\n"));
    const heads = (key: string) =>
      proxy.requests.filter((r) => r.method === "HEAD" && r.key === key).length;
    assert.ok(heads(kept.volume.objectKey) >= 2, `${heads(kept.volume.objectKey)} checks`);
    assert.equal(heads(deleted.volume.objectKey), 1, "a gone volume is not looked at again");
    // What the wait recorded, read straight from the catalog's restore_thaws table.
    const readyAt = (volumeId: number) =>
      (catalog.db.prepare("SELECT ready_at FROM restore_thaws WHERE volume_id = ?").get(
        volumeId,
      ) as { ready_at: string | null } | undefined)?.ready_at;
    assert.ok(readyAt(kept.volume.id), "the thaw is recorded as done");
    assert.equal(readyAt(deleted.volume.id), null);
    assert.ok(log.lines.some((l) => /^error: volume \S+ disappeared from the bucket/.test(l)));
  } finally {
    catalog.close();
    await proxy.stop();
    await box.cleanup();
  }
});

Deno.test("the thaw wait finds a folder bucket's volumes ready at the first check", async () => {
  const box = await makeSandbox("glacier-thaw-test-");
  const storage = createLocalStorage(box.bucket);
  const catalog = await deepArchiveBackup(box.root, box.src, `file://${box.bucket}`, storage);
  try {
    const ready: string[] = [];
    const log = recordingReporter();
    await withFastPolls(() =>
      waitForThaws(plans(catalog).map((plan) => ({ plan, storageClass: "DEEP_ARCHIVE" })), {
        catalog,
        storage,
        folderBucket: true,
        tier: "Standard",
        days: 1,
        log,
        signal: AbortSignal.timeout(30_000),
        onReady: (plan) => ready.push(plan.volume.name),
        onGone: () => assert.fail("no volume is gone"),
      })
    );
    assert.deepEqual(ready, catalog.volumes().map((v) => v.name));
    // The first check is made at once: nothing is waited for.
    assert.equal(log.lines.filter((l) => /waiting for/.test(l)).length, 0, log.lines.join("\n"));
  } finally {
    catalog.close();
    await box.cleanup();
  }
});
