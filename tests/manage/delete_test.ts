/** `glacier delete`: confirmation, early-deletion charges, catalog marks, unknown names. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { askYesNo } from "../../lib/cli/confirm.ts";
import { Logger } from "../../lib/cli/log.ts";
import { deleteCommand, type DeleteOptions, parseDeleteOptions } from "../../commands/delete.ts";
import { deleteVolumes } from "../../lib/manage/delete.ts";
import { earlyDeletion } from "../../lib/manage/early_deletion.ts";
import { DEFAULT_PRICES } from "../../lib/pricing/prices.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import { typedInput } from "../../testing/bytes.ts";
import { recordingReporter } from "../../testing/recording_reporter.ts";
import { runCli } from "../../testing/run_cli.ts";
import { makeTree } from "../../testing/tree.ts";
import { backupToFolder, readCatalog, sandbox, withMotoBucket } from "./helpers.ts";

const GiB = 1024 ** 3;
const DAY = 24 * 60 * 60 * 1000;

Deno.test("delete refuses without --yes off a terminal, then deletes with --yes", async () => {
  await withMotoBucket(async ({ box, storage, env, backup }) => {
    await makeTree(box.src, { bigFiles: [700_000, 700_000], smallFiles: 10 });
    const stateDb = await backup("--test-run", "--volume-size", "1MiB");
    const volumes = readCatalog(stateDb, (c) => c.volumes());
    assert.ok(volumes.length >= 2);
    const [victim, keeper] = volumes;

    const refused = await runCli(["delete", "--files", victim.name, stateDb], { env });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /standard input is not a terminal \(use --yes\)/);
    assert.ok(await storage.headObject(victim.objectKey), "nothing deleted");
    assert.equal(readCatalog(stateDb, (c) => c.volume(victim.id).state), "uploaded");
    // STANDARD has no minimum storage duration: no charge is announced.
    assert.doesNotMatch(refused.stderr, /early-deletion/);

    const done = await runCli(["delete", "--files", victim.name, stateDb, "--yes"], { env });
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, new RegExp(`deleted ${victim.name}; \\d+ entries marked deleted`));
    assert.equal(await storage.headObject(victim.objectKey), undefined);
    assert.ok(await storage.headObject(keeper.objectKey));
    const after = readCatalog(stateDb, (c) => ({
      victim: c.volume(victim.id).state,
      keeper: c.volume(keeper.id).state,
      victimFiles: c.filesOfVolume(victim.id, 0, 100_000).map((f) => f.state),
      keeperFiles: c.filesOfVolume(keeper.id, 0, 100_000).map((f) => f.state),
    }));
    assert.equal(after.victim, "deleted");
    assert.equal(after.keeper, "uploaded");
    assert.ok(after.victimFiles.length > 0 && after.victimFiles.every((s) => s === "deleted"));
    assert.ok(after.keeperFiles.every((s) => s === "stored"));

    // Deleting it again is harmless; sync agrees with the catalog.
    const again = await runCli(["delete", "--yes", "--files", victim.name, stateDb], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /is already deleted/);
    const sync = await runCli(["sync", stateDb], { env });
    assert.equal(sync.code, 0, sync.stderr);
  });
});

Deno.test("delete with an unknown name is exit 2 and deletes nothing", async () => {
  await withMotoBucket(async ({ box, storage, env, backup }) => {
    await makeTree(box.src);
    const stateDb = await backup("--test-run");
    const [volume] = readCatalog(stateDb, (c) => c.volumes());
    const result = await runCli(
      ["delete", "--files", volume.name, "000099_nope.tar.zst.age", stateDb, "--yes"],
      { env },
    );
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      "error: not a volume of this backup: 000099_nope.tar.zst.age (glacier show lists them); " +
        "nothing was deleted\n",
    );
    assert.ok(await storage.headObject(volume.objectKey));
    assert.equal(readCatalog(stateDb, (c) => c.volume(volume.id).state), "uploaded");
  });
});

Deno.test("delete of a young DEEP_ARCHIVE volume states the early-deletion charge", async () => {
  await withMotoBucket(async ({ box, storage, env, backup }) => {
    await makeTree(box.src, { bigFiles: [300_000] });
    const stateDb = await backup("--storage-class", "DEEP_ARCHIVE");
    const [volume] = readCatalog(stateDb, (c) => c.volumes());
    assert.equal((await storage.headObject(volume.objectKey))?.storageClass, "DEEP_ARCHIVE");
    const refused = await runCli(["delete", "--files", volume.name, stateDb], { env });
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      new RegExp(
        `${volume.name} \\(.*, DEEP_ARCHIVE\\): will be deleted after 0 days of the 180-day ` +
          "minimum; early-deletion charge for the 180 days left: (<\\$0\\.0001|\\$0\\.\\d+)",
      ),
    );
    assert.match(
      refused.stderr,
      /early-deletion charge of about .* \(us-east-1 list prices from public summaries/,
    );
    assert.ok(await storage.headObject(volume.objectKey));
    const done = await runCli(["delete", "--files", volume.name, "--yes", stateDb], { env });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(await storage.headObject(volume.objectKey), undefined);
  });
});

Deno.test("early-deletion charge: prorated days left of the class minimum", () => {
  const now = new Date("2026-06-30T00:00:00Z");
  const daysAgo = (d: number) => new Date(now.getTime() - d * DAY);
  const deep = earlyDeletion(10 * GiB, "DEEP_ARCHIVE", daysAgo(0), DEFAULT_PRICES, now)!;
  assert.equal(deep.minimumDays, 180);
  assert.equal(deep.daysLeft, 180);
  const deepPrice = DEFAULT_PRICES.classes.DEEP_ARCHIVE.storagePerGbMonth;
  assert.ok(Math.abs(deep.charge - 10 * deepPrice * 6) < 1e-12);
  const glacier = earlyDeletion(GiB, "GLACIER", daysAgo(60), DEFAULT_PRICES, now)!;
  assert.equal(glacier.daysLeft, 30);
  assert.equal(glacier.ageDays, 60);
  const glacierPrice = DEFAULT_PRICES.classes.GLACIER.storagePerGbMonth;
  assert.ok(Math.abs(glacier.charge - glacierPrice) < 1e-12);
  assert.equal(earlyDeletion(GiB, "STANDARD_IA", daysAgo(29), DEFAULT_PRICES, now)?.daysLeft, 1);
  assert.equal(earlyDeletion(GiB, "GLACIER_IR", daysAgo(89), DEFAULT_PRICES, now)?.daysLeft, 1);
  assert.equal(earlyDeletion(GiB, "DEEP_ARCHIVE", daysAgo(181), DEFAULT_PRICES, now), undefined);
  assert.equal(earlyDeletion(GiB, "STANDARD", daysAgo(0), DEFAULT_PRICES, now), undefined);
  assert.equal(earlyDeletion(GiB, "NO_SUCH_CLASS", daysAgo(0), DEFAULT_PRICES, now), undefined);
});

Deno.test("delete asks on a terminal: no keeps everything, yes deletes", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src);
    const stateDb = await backupToFolder(box);
    const catalog = Catalog.open(stateDb);
    const storage = createLocalStorage(box.bucket);
    const [volume] = catalog.volumes();
    const questions: string[] = [];
    const run = (answer: string) =>
      deleteVolumes({
        catalog,
        storage,
        names: [volume.objectKey],
        assumeYes: false,
        chargesApply: false,
        prices: DEFAULT_PRICES,
        log: Logger.terminalOnly(),
        // The terminal's own question, typed into and read off.
        confirm: (question) =>
          askYesNo(question, {
            input: typedInput(`${answer}\n`),
            output: {
              writeSync: (bytes) => (questions.push(new TextDecoder().decode(bytes)), bytes.length),
            },
          }),
      });
    try {
      assert.equal(await run("n"), "done");
      assert.match(
        questions[0],
        /^delete 1 volume \(.*\) from file:\/\/.*\? This cannot be undone\. \[y\/N\] $/,
      );
      assert.ok(await storage.headObject(volume.objectKey));
      assert.equal(catalog.volume(volume.id).state, "uploaded");
      assert.equal(await run(""), "done");
      assert.ok(await storage.headObject(volume.objectKey), "Enter alone means no");
      assert.equal(await run("yes"), "done");
      assert.equal(await storage.headObject(volume.objectKey), undefined);
      assert.equal(catalog.volume(volume.id).state, "deleted");
    } finally {
      catalog.close();
    }
  } finally {
    await box.cleanup();
  }
});

Deno.test("delete takes STATEDB before or after the --files names", () => {
  const parse = (...args: string[]) => {
    let parsed: DeleteOptions | undefined;
    const command = deleteCommand(() => {}).exitOverride()
      .action((words: string[], raw: Record<string, unknown>) => {
        parsed = parseDeleteOptions(words, raw);
      });
    command.parse(args, { from: "user" });
    return parsed!;
  };
  // The original tool's form: --files takes one name, the words after it are names then STATEDB.
  const original = parse("--files", "a.age", "b.age", "x.sqlite3");
  assert.deepEqual([original.names, original.stateDb], [["a.age", "b.age"], "x.sqlite3"]);
  const repeated = parse("x.sqlite3", "--files", "a.age", "--files", "b.age");
  assert.deepEqual([repeated.names, repeated.stateDb], [["a.age", "b.age"], "x.sqlite3"]);
  assert.throws(() => parse("--files", "x.sqlite3"), /usage: glacier delete/);
});

Deno.test("delete refuses volumes of an unfinished backup that are not uploaded yet", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src);
    const stateDb = await backupToFolder(box);
    const volume = readCatalog(stateDb, (c) => {
      const v = c.volumes()[0];
      c.transaction(() =>
        c.db.prepare("UPDATE volumes SET state = 'built' WHERE id = ?").run(v.id)
      );
      return v;
    });
    const result = await runCli(["delete", "--yes", "--files", volume.name, stateDb]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /not uploaded yet: 000001_.* \(resume the backup first\)/);
    assert.ok((await Deno.stat(join(box.bucket, volume.objectKey))).isFile);
  } finally {
    await box.cleanup();
  }
});

Deno.test("delete never tries a volume under Object Lock, names its date, and deletes the rest", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src, { bigFiles: [700_000, 700_000], smallFiles: 10 });
    const stateDb = await backupToFolder(box, "--volume-size", "1MiB");
    const catalog = Catalog.open(stateDb);
    const [locked, free] = catalog.volumes();
    const until = new Date(Date.now() + DAY);
    const folder = createLocalStorage(box.bucket);
    const tried: string[] = [];
    // The folder bucket as an S3 bucket with Object Lock would answer for `locked`.
    const storage = Object.assign(Object.create(folder), {
      headObject: async (key: string) => {
        const info = await folder.headObject(key);
        return info && key === locked.objectKey
          ? { ...info, retainUntil: until, retentionMode: "COMPLIANCE" }
          : info;
      },
      deleteObject: (key: string) => (tried.push(key), folder.deleteObject(key)),
    });
    const log = recordingReporter();
    try {
      const outcome = await deleteVolumes({
        catalog,
        storage,
        names: [locked.name, free.name],
        assumeYes: true,
        chargesApply: false,
        prices: DEFAULT_PRICES,
        log,
      });
      assert.equal(outcome, "done-with-warnings");
      assert.ok(
        log.lines.includes(
          `warn: ${locked.name} is locked (Object Lock, compliance) until ${until.toISOString()}: ` +
            "it will not be deleted",
        ),
        log.lines.join("\n"),
      );
      assert.ok(!tried.includes(locked.objectKey), "the locked volume is never tried");
      assert.ok(tried.includes(free.objectKey));
      assert.equal(catalog.volume(locked.id).state, "uploaded");
      assert.equal(catalog.volume(free.id).state, "deleted");
      assert.ok(await folder.headObject(locked.objectKey));
    } finally {
      catalog.close();
    }
  } finally {
    await box.cleanup();
  }
});
