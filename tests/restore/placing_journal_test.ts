/**
 * The journal of files written in place (placing_journal.ts): what a journal holds and refuses
 * (forged paths, numbers that are not, an oversized or foreign file), when a file it names counts
 * as left half-written, and what a restore does with one: replaces it when it restores its path,
 * leaves anything else alone (a file the user wrote since, a file no journal names), and keeps,
 * for another restore to finish, one it does not restore.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeJournal,
  encodeJournal,
  isHalfWritten,
  type JournalEntry,
  MAX_JOURNAL_BYTES,
  readLeftovers,
  WRITE_WINDOW_MS,
} from "../../lib/restore/placing_journal.ts";
import { STAGING_DIR_NAME } from "../../lib/restore/safe_writer.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { backupToSandbox, makeSandbox } from "../../testing/sandbox.ts";

const encoder = new TextEncoder();

Deno.test("a journal keeps well-formed entries and skips forged ones", () => {
  const good: JournalEntry[] = [
    { path: "a/b c/d", size: 12, mtime: 1_500_000_000, since: 1_700_000_000_123 },
    { path: "ünï/x", size: 0, mtime: -5, since: 1 },
  ];
  assert.deepEqual(decodeJournal(encodeJournal(good)), good);
  const forged = [
    "../escape\x000\x000\x000\0",
    "/abs\x000\x000\x000\0",
    "a//b\x000\x000\x000\0",
    "a/./b\x000\x000\x000\0",
    "a/..\x000\x000\x000\0",
    "size\x00x\x000\x000\0",
    "negative\x00-1\x000\x000\0",
    "fraction\x001\x001.5\x000\0",
    "\x001\x001\x001\0",
    "torn\x001\x00",
  ].join("");
  assert.deepEqual(decodeJournal(encoder.encode(forged)), []);
  assert.equal(decodeJournal(encodeJournal([...good, ...good, ...good]), 2).length, 2);
});

Deno.test("a file counts as half-written only without its size or mtime, and when written soon after being named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-journal-" });
  try {
    const file = join(dir, "f");
    await Deno.writeTextFile(file, "half");
    const now = Date.now();
    const entry = (size: number, mtime: number, since = now): JournalEntry => ({
      path: "f",
      size,
      mtime,
      since,
    });
    const info = () => Deno.lstatSync(file);
    assert.ok(isHalfWritten(info(), entry(10, 1_500_000_000)), "short, mtime not yet set");
    assert.ok(isHalfWritten(info(), entry(4, 1_500_000_000)), "whole size, mtime not yet set");
    // Complete: the size and the mtime it was to get (set last).
    await Deno.utime(file, 1_500_000_000, 1_500_000_000);
    assert.ok(!isHalfWritten(info(), entry(4, 1_500_000_000, 1_500_000_000_000)));
    // Written long after being named: someone's work since, not the killed run's.
    const later = new Date(now + WRITE_WINDOW_MS + 5_000);
    await Deno.utime(file, later, later);
    assert.ok(!isHalfWritten(info(), entry(10, 1_500_000_000)));
    const before = new Date(now - 60_000);
    await Deno.utime(file, before, before);
    assert.ok(!isHalfWritten(info(), entry(10, 1_500_000_000)), "written before it was named");
    await Deno.mkdir(join(dir, "d"));
    assert.ok(!isHalfWritten(Deno.lstatSync(join(dir, "d")), entry(10, 1_500_000_000)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readLeftovers reads the journals in a staging folder and nothing else", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-journal-" });
  try {
    const entry = (path: string): JournalEntry => ({ path, size: 1, mtime: 2, since: 3 });
    await Deno.writeFile(join(dir, "run-0.placing"), encodeJournal([entry("a"), entry("b")]));
    await Deno.writeFile(join(dir, "run-1.placing"), encodeJournal([entry("c")]));
    await Deno.writeFile(join(dir, "run-1.part"), encodeJournal([entry("part")]));
    await Deno.mkdir(join(dir, "folder.placing"));
    const big = await Deno.open(join(dir, "big.placing"), { write: true, create: true });
    await big.truncate(MAX_JOURNAL_BYTES + 1);
    big.close();
    if (Deno.uid() === 0) {
      // Another user's journal (here, one root gave away) is not this user's to trust.
      await Deno.writeFile(join(dir, "theirs-0.placing"), encodeJournal([entry("theirs")]));
      await Deno.chown(join(dir, "theirs-0.placing"), 4242, 4242);
    }
    assert.deepEqual([...readLeftovers(dir).keys()].sort(), ["a", "b", "c"]);
    assert.equal(readLeftovers(join(dir, "missing")).size, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a restore replaces a file a killed run left half-written, and nothing else", async () => {
  const box = await makeSandbox("glacier-journal-restore-");
  try {
    const src = box.src;
    await Deno.mkdir(join(src, "d"));
    const content = (name: string) => `the content of ${name}, `.repeat(20);
    for (const name of ["half", "edited", "unnamed", "whole"]) {
      await Deno.writeTextFile(join(src, "d", name), content(name));
      await Deno.utime(join(src, "d", name), 1_600_000_000, 1_600_000_000);
    }
    const backup = await backupToSandbox(box);
    assert.equal(backup.code, 0, backup.stderr);

    // What a killed restore into `dest` left: files written in place, named in its journal.
    const dest = join(box.root, "restored");
    const prefix = archivePath(src);
    const restored = join(dest, prefix, "d");
    await Deno.mkdir(join(dest, STAGING_DIR_NAME), { recursive: true });
    await Deno.mkdir(restored, { recursive: true });
    const now = Date.now();
    const named = (name: string): JournalEntry => ({
      path: `${prefix}/d/${name}`,
      size: content(name).length,
      mtime: 1_600_000_000,
      since: now,
    });
    // Half-written: short, its mtime not yet set.
    await Deno.writeTextFile(join(restored, "half"), "the cont");
    // Written in full by the killed run, then edited by the user ten minutes later.
    await Deno.writeTextFile(join(restored, "edited"), "the user's own words");
    const edited = new Date(now + 10 * 60_000);
    await Deno.utime(join(restored, "edited"), edited, edited);
    // Short, but named in no journal.
    await Deno.writeTextFile(join(restored, "unnamed"), "the cont");
    // Complete: its size and mtime.
    await Deno.writeTextFile(join(restored, "whole"), content("whole"));
    await Deno.utime(join(restored, "whole"), 1_600_000_000, 1_600_000_000);
    // Another restore's file, not in this backup, still half-written.
    await Deno.mkdir(join(dest, "other"));
    await Deno.writeTextFile(join(dest, "other", "theirs"), "half of");
    await Deno.writeFile(
      join(dest, STAGING_DIR_NAME, "killed-0.placing"),
      encodeJournal([
        named("half"),
        named("edited"),
        named("whole"),
        { path: "other/theirs", size: 100, mtime: 1_500_000_000, since: now },
        { path: "../outside", size: 100, mtime: 1_500_000_000, since: now },
      ]),
    );

    const restore = await runCli(["restore", stateDbFrom(backup), "--to", dest, "--yes"]);
    assert.notEqual(restore.code, 0, "files left as they were are reported");
    assert.equal(await Deno.readTextFile(join(restored, "half")), content("half"));
    assert.equal(
      Math.floor(Deno.lstatSync(join(restored, "half")).mtime!.getTime() / 1000),
      1_600_000_000,
    );
    assert.equal(await Deno.readTextFile(join(restored, "edited")), "the user's own words");
    assert.equal(await Deno.readTextFile(join(restored, "unnamed")), "the cont");
    assert.equal(await Deno.readTextFile(join(restored, "whole")), content("whole"));
    assert.equal(await Deno.readTextFile(join(dest, "other", "theirs")), "half of");
    assert.match(restore.stderr, /1 file in .* \("?other\/theirs"?\) were left half-written/);
    // Only the other restore's half-written file is still named, in one journal.
    const left = [...Deno.readDirSync(join(dest, STAGING_DIR_NAME))];
    assert.equal(left.length, 1, JSON.stringify(left));
    assert.deepEqual([...readLeftovers(join(dest, STAGING_DIR_NAME)).keys()], ["other/theirs"]);
  } finally {
    await box.cleanup();
  }
});
