/**
 * `glacier estimate` on real backups (to file:// buckets), and `glacier backup --dry-run`, which
 * must write nothing and touch no bucket.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { makeTree } from "../../testing/tree.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { DEFAULT_PRICES, restoreCost, storageCostPerMonth } from "../../lib/pricing/prices.ts";
import { applyPriceOverrides } from "../../lib/pricing/price_file.ts";
import type { BackupEstimate } from "../../lib/pricing/backup_estimate.ts";

const MiB = 1024 * 1024;

/** A sandbox with a source tree (three incompressible 1.5 MiB files) and a folder bucket. */
async function sandbox() {
  const root = await Deno.makeTempDir({ prefix: "glacier-estimate-test-" });
  const src = join(root, "src");
  await Deno.mkdir(src);
  await makeTree(src, { smallFiles: 20, bigFiles: [1.5 * MiB, 1.5 * MiB, 1.5 * MiB] });
  const bucket = join(root, "bucket");
  await Deno.mkdir(bucket);
  const env = {
    AWS_CONFIG_FILE: join(root, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(root, "no-aws-credentials"),
  };
  return {
    root,
    src,
    bucket,
    env,
    backup: (...extra: string[]) =>
      runCli([
        "backup",
        "--src-dirs",
        src,
        "--bucket",
        `file://${bucket}`,
        "--volume-size",
        "1MiB",
        "--state-dir",
        join(root, "state"),
        ...extra,
      ], { env }),
    cleanup: () => Deno.remove(root, { recursive: true }),
  };
}

/**
 * The state database of a successful sandbox backup, its bucket renamed to an S3 bucket: the
 * volumes stay in the folder, but `estimate` prices them as S3 would (a folder costs nothing).
 */
function pricedAsS3(backup: CliResult): string {
  assert.equal(backup.code, 0, backup.stderr);
  const stateDb = stateDbFrom(backup);
  const catalog = Catalog.open(stateDb);
  try {
    catalog.updateSettings({ ...catalog.settings(), bucket: "s3://priced-as-s3" });
  } finally {
    catalog.close();
  }
  return stateDb;
}

/** The volumes of a backup, and the volume holding `path`. */
function catalogFacts(stateDb: string, path: string) {
  const catalog = Catalog.open(stateDb);
  try {
    const volumes = catalog.volumes();
    const row = catalog.db.prepare("SELECT volume_id FROM files WHERE path = ?").get(path) as {
      volume_id: number;
    };
    return { volumes, holding: volumes.find((v) => v.id === row.volume_id)! };
  } finally {
    catalog.close();
  }
}

Deno.test("estimate of a DEEP_ARCHIVE backup: storage, and restore of all or part per tier", async () => {
  const box = await sandbox();
  try {
    const stateDb = pricedAsS3(await box.backup("--storage-class", "DEEP_ARCHIVE"));
    const wanted = join(box.src, "big", "random-1.bin");
    const { volumes, holding } = catalogFacts(stateDb, wanted);
    assert.ok(volumes.length >= 4, `${volumes.length} volumes`);
    const bytes = volumes.reduce((n, v) => n + v.size!, 0);

    const result = await runCli(["estimate", stateDb, "--json"], { env: box.env });
    assert.equal(result.code, 0, result.stderr);
    const estimate = JSON.parse(result.stdout) as BackupEstimate;
    assert.equal(estimate.volumes, volumes.length);
    assert.equal(estimate.bytes, bytes);
    assert.equal(estimate.storage.length, 1);
    const [storage] = estimate.storage;
    assert.equal(storage.storageClass, "DEEP_ARCHIVE");
    assert.equal(storage.minimumDays, 180);
    assert.equal(storage.perMonth, storageCostPerMonth(bytes, volumes.length, "DEEP_ARCHIVE"));
    assert.equal(storage.perYear, storage.perMonth * 12);
    assert.equal(estimate.restore.volumes, volumes.length);
    assert.deepEqual(estimate.restore.options.map((o) => [o.tier, o.wait]), [
      ["Standard", "within 12 h"],
      ["Bulk", "within 48 h"],
    ]);
    const bulk = estimate.restore.options[1];
    const expected = restoreCost({
      bytes,
      objects: volumes.length,
      storageClass: "DEEP_ARCHIVE",
      tier: "Bulk",
      days: 7, // the default, the days a restore asks for
    });
    assert.deepEqual(
      [bulk.retrieval, bulk.requests, bulk.transfer, bulk.temporaryCopy, bulk.total],
      [
        expected.retrieval,
        expected.requests,
        expected.transfer,
        expected.temporaryCopy,
        expected.total,
      ],
    );

    // Only the volume holding the one wanted file is priced.
    const part = await runCli(["estimate", stateDb, "--include", wanted, "--days", "7", "--json"]);
    assert.equal(part.code, 0, part.stderr);
    const partial = JSON.parse(part.stdout) as BackupEstimate;
    assert.equal(partial.restore.entries, 1);
    assert.equal(partial.restore.fileBytes, 1.5 * MiB);
    assert.equal(partial.restore.volumes, 1);
    assert.equal(partial.restore.bytes, holding.size);
    assert.equal(partial.restore.days, 7);
    assert.equal(
      partial.restore.options[0].total,
      restoreCost({
        bytes: holding.size!,
        objects: 1,
        storageClass: "DEEP_ARCHIVE",
        tier: "Standard",
        days: 7,
      }).total,
    );
    assert.equal(partial.storage[0].perMonth, storage.perMonth, "keeping it still counts all");

    const text = await runCli(["estimate", stateDb, "--include", "**/big/random-*"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /keeping it +volumes +size +per month +per year/);
    assert.match(
      text.stdout,
      /restoring what matches \*\*\/big\/random-\*: 3 entries \(4\.50 MiB\) in 3 of 4 volumes/,
    );
    assert.match(text.stdout, /DEEP_ARCHIVE +Standard +within 12 h +<?\$/);
    assert.match(text.stdout, /DEEP_ARCHIVE +Bulk +within 48 h +<?\$/);
    assert.match(text.stdout, /billed for at least 180 days/);
    assert.match(text.stdout, /thawed copies are kept 7 days \(--days\)/);
    const oneDay = await runCli(["estimate", stateDb, "--days", "1"]);
    assert.match(oneDay.stdout, /thawed copies are kept 1 day \(--days\)/);
    const none = await runCli(["estimate", stateDb, "--include", "/no/such/folder"]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /no file matches, nothing to restore/);
  } finally {
    await box.cleanup();
  }
});

Deno.test("estimate honours --prices and GLACIER_PRICES_FILE; a bad file is one usage line", async () => {
  const box = await sandbox();
  try {
    const stateDb = pricedAsS3(await box.backup("--storage-class", "GLACIER"));
    const overrides = '{"classes": {"GLACIER": {"storagePerGbMonth": 1.5}}}';
    const pricesFile = join(box.root, "prices.json");
    await Deno.writeTextFile(pricesFile, overrides);
    const prices = applyPriceOverrides(overrides, pricesFile);

    const viaOption = await runCli(["estimate", stateDb, "--prices", pricesFile, "--json"]);
    assert.equal(viaOption.code, 0, viaOption.stderr);
    const estimate = JSON.parse(viaOption.stdout) as BackupEstimate;
    const [storage] = estimate.storage;
    assert.equal(
      storage.perMonth,
      storageCostPerMonth(storage.bytes, storage.volumes, "GLACIER", prices),
    );
    assert.notEqual(
      storage.perMonth,
      storageCostPerMonth(storage.bytes, storage.volumes, "GLACIER", DEFAULT_PRICES),
    );
    assert.deepEqual(estimate.restore.options.map((o) => o.tier), [
      "Expedited",
      "Standard",
      "Bulk",
    ]);

    const viaEnv = await runCli(["estimate", stateDb, "--json"], {
      env: { ...box.env, GLACIER_PRICES_FILE: pricesFile },
    });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(
      (JSON.parse(viaEnv.stdout) as BackupEstimate).storage[0].perMonth,
      storage.perMonth,
    );

    // The text says where the prices shown come from: the built-in table, or which file.
    const builtIn = await runCli(["estimate", stateDb], { env: box.env });
    assert.match(
      builtIn.stdout,
      /prices: us-east-1 list prices from public summaries of May-June 2026/,
    );
    const fromEnv = await runCli(["estimate", stateDb], {
      env: { ...box.env, GLACIER_PRICES_FILE: pricesFile },
    });
    assert.ok(
      fromEnv.stdout.includes(
        `prices: us-east-1 prices from ${pricesFile}, the rest from the built-in`,
      ),
      fromEnv.stdout,
    );

    await Deno.writeTextFile(
      pricesFile,
      '{"classes": {"GLACIER": {"storagePerGbMonth": "cheap"}}}',
    );
    const bad = await runCli(["estimate", stateDb, "--prices", pricesFile]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, "");
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assert.match(
      bad.stderr,
      /^error: prices file .*"classes\.GLACIER\.storagePerGbMonth" must be a number/,
    );

    const missing = await runCli(["estimate", join(box.root, "nope.sqlite3")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot open state database/);
  } finally {
    await box.cleanup();
  }
});

Deno.test("estimate of a --test-run backup: STANDARD needs no restore tier", async () => {
  const box = await sandbox();
  try {
    const stateDb = pricedAsS3(await box.backup("--test-run"));
    const result = await runCli(["estimate", stateDb, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const estimate = JSON.parse(result.stdout) as BackupEstimate;
    assert.equal(estimate.storage[0].storageClass, "STANDARD");
    assert.equal(estimate.storage[0].minimumDays, 0);
    assert.deepEqual(estimate.restore.options.map((o) => [o.tier, o.wait, o.temporaryCopy]), [
      [null, "none", 0],
    ]);
  } finally {
    await box.cleanup();
  }
});

Deno.test("estimate of a file:// backup prices no storage, no thaw and no transfer out", async () => {
  const box = await sandbox();
  try {
    const backup = await box.backup("--storage-class", "DEEP_ARCHIVE");
    assert.equal(backup.code, 0, backup.stderr);
    const stateDb = stateDbFrom(backup);
    const result = await runCli(["estimate", stateDb, "--json"], { env: box.env });
    assert.equal(result.code, 0, result.stderr);
    const estimate = JSON.parse(result.stdout) as BackupEstimate;
    assert.equal(estimate.folderBucket, true);
    assert.deepEqual(estimate.storage.map((s) => [s.perMonth, s.minimumDays]), [[0, 0]]);
    assert.deepEqual(
      estimate.restore.options.map((o) => [o.tier, o.wait, o.retrieval, o.transfer, o.total]),
      [[null, "none", 0, 0, 0]],
    );
    assert.ok(estimate.restore.bytes > 0);

    const text = await runCli(["estimate", stateDb], { env: box.env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /the bucket is a folder, so AWS charges nothing/);
    assert.match(text.stdout, /no thaw, no transfer out/);
    assert.doesNotMatch(text.stdout, /Bulk|downloading to the internet|billed for at least/);
  } finally {
    await box.cleanup();
  }
});

Deno.test("backup --dry-run writes no state database, touches no bucket, and counts right", async () => {
  const box = await sandbox();
  try {
    const cwd = join(box.root, "cwd");
    await Deno.mkdir(cwd);
    const stateDir = join(box.root, "dry-state");
    // Nothing listens on port 9: any bucket access would fail (exit 3) after retries.
    const dry = await runCli([
      "backup",
      "--src-dirs",
      box.src,
      "--bucket",
      "no-such-bucket",
      "--endpoint",
      "http://127.0.0.1:9",
      "--volume-size",
      "1MiB",
      "--state-dir",
      stateDir,
      "--dry-run",
    ], { cwd, env: box.env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual([...Deno.readDirSync(cwd)], []);
    assert.throws(() => Deno.statSync(stateDir), Deno.errors.NotFound);
    assert.match(dry.stdout, /^dry run: nothing was written or uploaded$/m);
    assert.match(dry.stdout, /assume no compression gain \(an upper bound\)/);
    assert.match(dry.stdout, /in DEEP_ARCHIVE/);
    assert.match(dry.stdout, /^storage: <?\$[\d.]+ a month, <?\$[\d.]+ a year$/m);
    assert.match(
      dry.stdout,
      /^upload requests: \d+ \(\d+ multipart uploads? of \d+ parts? in all\): /m,
    );
    const expected = Number(/expected: (\d+) volumes?/.exec(dry.stdout)![1]);

    // The real backup makes as many volumes as the dry run announced.
    const real = await box.backup();
    assert.equal(real.code, 0, real.stderr);
    const catalog = Catalog.open(stateDbFrom(real));
    const made = catalog.volumes().length;
    catalog.close();
    assert.equal(made, expected);

    // A folder bucket that does not exist is not created either.
    const folder = join(box.root, "no-bucket-folder");
    const local = await runCli([
      "backup",
      "--src-dirs",
      box.src,
      "--bucket",
      `file://${folder}`,
      "--dry-run",
    ], { cwd, env: box.env });
    assert.equal(local.code, 0, local.stderr);
    assert.match(local.stdout, /the bucket is a folder, so AWS charges nothing/);
    assert.throws(() => Deno.statSync(folder), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(cwd)], []);
  } finally {
    await box.cleanup();
  }
});
