/**
 * `SmallFilePlacer`: files placed on a worker come in complete, with their mtime and mode, and
 * each outcome (written, exists, or the OS error that kept a file out) comes back in order;
 * batches of many files and of a megabyte go through, and a closed placer stops.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PLACE_BATCH_BYTES, SmallFilePlacer } from "../../lib/restore/small_file_placer.ts";
import type { WriteOutcome } from "../../lib/restore/safe_writer.ts";

const onWindows = Deno.build.os === "windows";

Deno.test("SmallFilePlacer places files on a worker and reports each outcome in order", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-placer-" });
  const placer = new SmallFilePlacer({
    overwrite: false,
    restoreOwners: false,
    umask: onWindows ? 0o777 : Deno.umask(),
  });
  try {
    const staging = join(root, "staging");
    const dest = join(root, "dest");
    await Deno.mkdir(staging);
    await Deno.mkdir(dest);
    await Deno.writeTextFile(join(dest, "taken"), "mine");
    const outcomes: (WriteOutcome | Error)[] = [];
    let part = 0;
    const add = (name: string, body: Uint8Array, fresh: boolean, mode = 0o644) =>
      placer.add(
        join(staging, `${part++}.part`),
        { full: join(dest, name), checked: false, fresh },
        { mode, mtime: 1_500_000_000 + part },
        body,
        (outcome) => outcomes.push(outcome),
      );
    const count = 600;
    for (let i = 0; i < count; i++) {
      await add(`f${i}`, new TextEncoder().encode(`file ${i}`), i % 2 === 0, 0o640);
    }
    await add("taken", new TextEncoder().encode("theirs"), false);
    await add("missing/f", new TextEncoder().encode("no folder"), true);
    // A file as large as a batch goes in a batch of its own.
    const big = new Uint8Array(PLACE_BATCH_BYTES).fill(7);
    await add("big", big, false);
    await placer.drain();

    assert.equal(outcomes.length, count + 3);
    for (let i = 0; i < count; i++) {
      assert.deepEqual(outcomes[i], { kind: "written" }, `f${i}`);
      assert.equal(await Deno.readTextFile(join(dest, `f${i}`)), `file ${i}`);
    }
    const info = await Deno.stat(join(dest, "f3"));
    assert.equal(info.mtime!.getTime(), (1_500_000_000 + 4) * 1000);
    if (!onWindows) assert.equal(info.mode! & 0o777, 0o640);
    assert.deepEqual(outcomes[count], { kind: "exists" });
    assert.equal(await Deno.readTextFile(join(dest, "taken")), "mine");
    assert.ok(outcomes[count + 1] instanceof Deno.errors.NotFound, String(outcomes[count + 1]));
    assert.deepEqual(outcomes[count + 2], { kind: "written" });
    assert.deepEqual(await Deno.readFile(join(dest, "big")), big);
    assert.deepEqual([...Deno.readDirSync(staging)], [], "no part file stays behind");

    placer.close();
    await assert.rejects(add("late", new Uint8Array(1), true), /placer was closed/);
  } finally {
    placer.close();
    await Deno.remove(root, { recursive: true });
  }
});
