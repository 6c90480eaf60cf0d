/**
 * `glacier forget` on real backups: the policy's choice, the volumes and catalog copies deleted,
 * the state databases moved aside, the early-deletion quote, Object Lock, --dry-run, bad input.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { runCli } from "../../testing/run_cli.ts";
import { makeTree } from "../../testing/tree.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import type { Storage } from "../../lib/storage/storage.ts";
import { backupToFolder, lines, readCatalog, sandbox, withMotoBucket } from "./helpers.ts";

/** Every key in a bucket, sorted. */
async function bucketKeys(storage: Storage): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of storage.listObjects("")) keys.push(object.key);
  return keys.sort();
}

/** The file names in a folder (and in its `forgotten/` folder), sorted. */
async function stateFiles(folder: string): Promise<string[]> {
  const names: string[] = [];
  for (const sub of ["", "forgotten"]) {
    try {
      for await (const item of Deno.readDir(join(folder, sub))) {
        if (item.isFile && !/-(wal|shm)$/.test(item.name)) names.push(join(sub, item.name));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return names.sort();
}

Deno.test("forget --keep-last 1 deletes the older backups' volumes and catalog copies, after a dry run that changes nothing", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src);
    const first = await backupToFolder(box);
    await Deno.writeTextFile(join(box.src, "hello.txt"), "changed\n");
    const second = await backupToFolder(box);
    await Deno.writeTextFile(join(box.src, "new.txt"), "new\n");
    const third = await backupToFolder(box);
    const storage = createLocalStorage(box.bucket);
    const keysBefore = await bucketKeys(storage);
    const filesBefore = await stateFiles(box.state);
    const forget = (...extra: string[]) =>
      runCli(["forget", "--state-dir", box.state, "--keep-last", "1", ...extra]);

    const dry = await forget("--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    const id = (db: string) => readCatalog(db, (c) => c.settings().backupId);
    assert.match(dry.stderr, new RegExp(`keep   ${id(third)} \\(last\\)`));
    assert.match(dry.stderr, new RegExp(`forget ${id(second)}\n.*forget ${id(first)}`, "s"));
    assert.match(
      dry.stderr,
      /dry run: would forget 2 backups, deleting 2 volumes \(.*\) and 2 catalog copies/,
    );
    assert.deepEqual(await bucketKeys(storage), keysBefore, "a dry run deletes nothing");
    assert.deepEqual(await stateFiles(box.state), filesBefore, "nor moves a state database");

    const refused = await forget();
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /standard input is not a terminal \(use --yes\)/);
    assert.deepEqual(await bucketKeys(storage), keysBefore);

    const done = await forget("--yes");
    assert.equal(done.code, 0, done.stderr);
    const thirdKeys = keysBefore.filter((k) => k.startsWith(`${id(third)}/`));
    assert.deepEqual(await bucketKeys(storage), thirdKeys, "only the kept backup is left");
    assert.ok(thirdKeys.some((k) => k.endsWith("catalog.sqlite3.age")));
    const moved = (db: string) => join(box.state, "forgotten", basename(db));
    for (const db of [first, second]) {
      const states = readCatalog(moved(db), (c) => c.volumes().map((v) => v.state));
      assert.ok(states.length > 0 && states.every((s) => s === "deleted"), `${db}: ${states}`);
    }
    assert.ok((await stateFiles(box.state)).includes(basename(third)));
    assert.equal(readCatalog(third, (c) => c.volumes()[0].state), "uploaded");

    // The kept backup still restores.
    const to = join(box.root, "restored");
    const restored = await runCli(["restore", third, "--to", to]);
    assert.equal(restored.code, 0, restored.stderr);

    const again = await forget("--yes");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /nothing to forget/);
  } finally {
    await box.cleanup();
  }
});

Deno.test("forget: bad policies are one line, exit 2, and nothing is forgotten", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src);
    const db = await backupToFolder(box);
    const storage = createLocalStorage(box.bucket);
    const keysBefore = await bucketKeys(storage);
    const cases: [string[], RegExp][] = [
      [[], /^error: usage: glacier forget --keep-last N/],
      [["--keep-last", "abc"], /^error: --keep-last must be a whole number from 0, got "abc"\n$/],
      [["--keep-daily", "-1"], /^error: --keep-daily must be a whole number from 0, got "-1"\n$/],
      [["--keep-monthly", "1.5"], /^error: --keep-monthly must be a whole number/],
      [["--keep-last", "0"], /^error: this policy keeps no backup: .* or --forget-all/],
      [["--forget-all", "--keep-last", "1"], /^error: --forget-all keeps nothing/],
      [["--keep-last", "1", "--prefix", "a/../b"], /^error: --prefix "a\/..\/b" may not contain/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(["forget", "--state-dir", box.state, "--yes", ...args]);
      assert.equal(result.code, 2, `${args}: ${result.stderr}`);
      assert.equal(lines(result.stderr).length, 1, `${args}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.deepEqual(await bucketKeys(storage), keysBefore);
    assert.equal(readCatalog(db, (c) => c.volumes()[0].state), "uploaded");

    // Saying it: --forget-all forgets the only backup.
    const all = await runCli(["forget", "--state-dir", box.state, "--forget-all", "--yes"]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(await bucketKeys(storage), []);
  } finally {
    await box.cleanup();
  }
});

Deno.test("forget quotes the early-deletion charge and never tries a locked volume (moto)", async () => {
  await withMotoBucket(async ({ box, storage, env, backup }) => {
    await makeTree(box.src, { bigFiles: [300_000] });
    const locked = await backup("--storage-class", "DEEP_ARCHIVE", "--object-lock-days", "1");
    const young = await backup("--storage-class", "DEEP_ARCHIVE");
    const newest = await backup("--storage-class", "DEEP_ARCHIVE");
    const ids = new Map(
      [locked, young, newest].map((db) => [db, readCatalog(db, (c) => c.settings().backupId)]),
    );
    const id = (db: string) => ids.get(db)!;
    const result = await runCli(
      ["forget", "--state-dir", box.state, "--keep-last", "1", "--yes"],
      { env },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /000001_backup\.tar\.zst\.age \(.*, DEEP_ARCHIVE\): will be deleted after 0 days of the 180-day minimum; early-deletion charge for the 180 days left: .*\(backup \d{8}_\d{6}\)/,
    );
    assert.match(result.stderr, /early-deletion charge of about .* \(us-east-1 list prices/);
    assert.match(
      result.stderr,
      new RegExp(
        `000001_backup\\.tar\\.zst\\.age is locked \\(Object Lock, governance\\) until ` +
          `\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: it will not be deleted \\(backup ${id(locked)}\\)`,
      ),
    );
    assert.match(result.stderr, new RegExp(`backup ${id(locked)} is not forgotten yet`));
    const keys = await bucketKeys(storage);
    assert.ok(!keys.some((k) => k.startsWith(`${id(young)}/`)), `young is gone: ${keys}`);
    assert.ok(keys.some((k) => k.startsWith(`${id(newest)}/`)));
    // The locked backup keeps its volume, its catalog copy and its state database.
    assert.equal(keys.filter((k) => k.startsWith(`${id(locked)}/`)).length, 2, `${keys}`);
    assert.equal(readCatalog(locked, (c) => c.volumes()[0].state), "uploaded");
  }, { objectLock: true });
});
