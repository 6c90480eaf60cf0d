/**
 * `SmallFilePlacer`: files placed on a worker come in complete, with their mtime and mode, and
 * each outcome (written, exists, or the OS error that kept a file out) comes back; batches of
 * many files and of a megabyte go through; files into fresh folders are named in the journal
 * before they are written in place, and the journal is gone once they are; `finish` lets the
 * worker end the batches it was sent; a batch is placed on the calling thread when the worker is
 * behind; a closed placer stops.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PLACE_BATCH_BYTES, SmallFilePlacer } from "../../lib/restore/small_file_placer.ts";
import type { WriteOutcome } from "../../lib/restore/safe_writer.ts";
import { decodeJournal, PlacingJournal } from "../../lib/restore/placing_journal.ts";

const onWindows = Deno.build.os === "windows";
const settings = {
  overwrite: false,
  restoreOwners: false,
  umask: onWindows ? 0o777 : Deno.umask(),
  inPlace: !onWindows,
};

/** A placer writing into `dest`, with its journal and part files in `staging`, under `root`. */
interface PlacerSetup {
  root: string;
  staging: string;
  dest: string;
  /** The journal's files start with this. */
  journal: string;
  placer: SmallFilePlacer;
}

/** Runs `fn` with a new placer (see `PlacerSetup`), then lets it finish and removes it all. */
async function withPlacer(
  fn: (setup: PlacerSetup) => Promise<void>,
  workerQueue?: number,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "glacier-placer-" });
  const staging = join(root, "staging");
  const dest = join(root, "dest");
  const journal = join(staging, "run");
  await Deno.mkdir(staging);
  await Deno.mkdir(dest);
  const placer = new SmallFilePlacer({
    settings,
    journal: new PlacingJournal(journal, dest),
    partPrefix: join(staging, "run-"),
    workerQueue,
  });
  try {
    await fn({ root, staging, dest, journal, placer });
  } finally {
    await placer.finish();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("SmallFilePlacer places files on a worker and reports each outcome", () =>
  withPlacer(async ({ staging, dest, journal, placer }) => {
    await Deno.writeTextFile(join(dest, "taken"), "mine");
    const outcomes = new Map<string, WriteOutcome | Error>();
    let part = 0;
    const add = (name: string, body: Uint8Array, fresh: boolean, mode = 0o644) =>
      placer.add(
        { full: join(dest, name), checked: false, fresh },
        { mode, mtime: 1_500_000_000 + ++part },
        body,
        (outcome) => outcomes.set(name, outcome),
      );
    const count = 600;
    for (let i = 0; i < count; i++) {
      await add(`f${i}`, new TextEncoder().encode(`file ${i}`), i % 2 === 0, 0o640);
    }
    if (!onWindows) {
      // Two full batches went to the worker (no answer is read before an event-loop turn); the
      // journal names their files that go into fresh folders, to be written in place.
      const named = [
        ...decodeJournal(await Deno.readFile(`${journal}-0.placing`)),
        ...decodeJournal(await Deno.readFile(`${journal}-1.placing`)),
      ];
      const fresh = Array.from({ length: 512 }, (_, i) => i).filter((i) => i % 2 === 0);
      assert.deepEqual(named.map((entry) => entry.path), fresh.map((i) => `f${i}`));
      assert.deepEqual(named[1], {
        path: "f2",
        size: 6,
        mtime: 1_500_000_003,
        since: named[1].since,
      });
    }
    await add("taken", new TextEncoder().encode("theirs"), false);
    await add("missing/f", new TextEncoder().encode("no folder"), true);
    // A file as large as a batch goes in a batch of its own.
    const big = new Uint8Array(PLACE_BATCH_BYTES).fill(7);
    await add("big", big, false);
    await placer.drain();

    assert.equal(outcomes.size, count + 3);
    for (let i = 0; i < count; i++) {
      assert.deepEqual(outcomes.get(`f${i}`), { kind: "written" }, `f${i}`);
      assert.equal(await Deno.readTextFile(join(dest, `f${i}`)), `file ${i}`);
    }
    const info = await Deno.stat(join(dest, "f3"));
    assert.equal(info.mtime!.getTime(), (1_500_000_000 + 4) * 1000);
    if (!onWindows) assert.equal(info.mode! & 0o777, 0o640);
    assert.deepEqual(outcomes.get("taken"), { kind: "exists" });
    assert.equal(await Deno.readTextFile(join(dest, "taken")), "mine");
    const missing = outcomes.get("missing/f");
    assert.ok(missing instanceof Deno.errors.NotFound, String(missing));
    assert.deepEqual(outcomes.get("big"), { kind: "written" });
    assert.deepEqual(await Deno.readFile(join(dest, "big")), big);
    // Files into fresh folders were written in place, named in the journal first; once all
    // are placed, the journal is gone too.
    assert.deepEqual([...Deno.readDirSync(staging)], [], "no part file or journal stays behind");

    placer.close();
    assert.throws(() => add("late", new Uint8Array(1), true), /placer was closed/);
  }));

Deno.test("SmallFilePlacer.finish lets the worker finish the batches it was sent, then stops", () =>
  withPlacer(async ({ staging, dest, placer }) => {
    const outcomes: (WriteOutcome | Error)[] = [];
    const body = new Uint8Array(3000).fill(1);
    for (let i = 0; i < 600; i++) {
      await placer.add(
        { full: join(dest, `f${i}`), checked: false, fresh: true },
        { mode: 0o644, mtime: 1_500_000_000 },
        body,
        (outcome) => outcomes.push(outcome),
      );
    }
    // A stop (say an error in the volume) before the end: the two batches sent go in whole.
    await placer.finish();
    assert.equal(outcomes.length, 512);
    for (let i = 0; i < 512; i++) {
      const info = await Deno.stat(join(dest, `f${i}`));
      assert.equal(info.size, 3000, `f${i}`);
      assert.equal(info.mtime!.getTime(), 1_500_000_000_000, `f${i}`);
    }
    // The queued batch was never sent: nothing of it is written.
    await assert.rejects(Deno.stat(join(dest, "f512")), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(staging)], [], "no part file or journal stays behind");
    await assert.rejects(placer.drain(), /placer was closed/);
  }));

Deno.test("SmallFilePlacer places batches on the calling thread when the worker is behind", () =>
  // A worker queue of none: the worker is always behind, and every batch is placed here.
  withPlacer(async ({ staging, dest, placer }) => {
    await Deno.writeTextFile(join(dest, "taken"), "mine");
    const placed = new Map<string, WriteOutcome | Error>();
    const add = (name: string, fresh: boolean) =>
      placer.add(
        { full: join(dest, name), checked: false, fresh },
        { mode: 0o640, mtime: 1_500_000_000 },
        new TextEncoder().encode(`file ${name}`),
        (outcome) => placed.set(name, outcome),
      );
    for (let i = 0; i < 300; i++) await add(`f${i}`, i % 2 === 0);
    // The first 256 were placed at once, before any event-loop turn, and named no more.
    assert.equal(placed.size, 256);
    assert.deepEqual([...Deno.readDirSync(staging)], []);
    assert.equal(Deno.readTextFileSync(join(dest, "f255")), "file f255");
    await add("taken", false);
    await add("missing/f", true);
    await placer.drain();
    assert.equal(placed.size, 302);
    for (let i = 0; i < 300; i++) {
      assert.deepEqual(placed.get(`f${i}`), { kind: "written" });
      const info = Deno.statSync(join(dest, `f${i}`));
      assert.equal(info.mtime!.getTime(), 1_500_000_000_000);
      if (!onWindows) assert.equal(info.mode! & 0o777, 0o640);
    }
    assert.deepEqual(placed.get("taken"), { kind: "exists" });
    assert.equal(Deno.readTextFileSync(join(dest, "taken")), "mine");
    assert.ok(placed.get("missing/f") instanceof Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(staging)], [], "no part file or journal stays behind");
  }, 0));
