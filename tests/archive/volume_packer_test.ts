/**
 * The volume packing rule that the backup's plan and the dry-run forecast share: entries in
 * order, a volume closes before the entry that would overflow it, a big entry gets its own
 * volume unless what precedes it is tiny, and hardlinks weigh a header only.
 */
import assert from "node:assert/strict";
import {
  type PackableEntry,
  type PackedVolume,
  tarEntryEstimate,
  VolumePacker,
} from "../../lib/archive/volume_packer.ts";

interface Entry extends PackableEntry {
  name: string;
}

const entry = (name: string, size: number): Entry => ({ name, size, archivePath: `src/${name}` });

/** Packs `entries` and returns each volume as [first name, last name, bytes]. */
function pack(volumeSize: number, entries: Entry[]): [string, string, number][] {
  const packer = new VolumePacker<Entry>(volumeSize);
  const closed: PackedVolume<Entry>[] = [];
  for (const e of entries) {
    const volume = packer.add(e);
    if (volume) closed.push(volume);
  }
  const last = packer.finish();
  if (last) closed.push(last);
  return closed.map((v) => [v.first.name, v.last.name, v.bytes]);
}

Deno.test("packer: a volume closes before the entry that would take it past the target", () => {
  const block = tarEntryEstimate(2500, "src/a"); // 512 + 2560
  assert.deepEqual(
    pack(10_000, [entry("a", 2500), entry("b", 2500), entry("c", 2500), entry("d", 2500)]),
    [
      ["a", "c", 3 * block],
      ["d", "d", block],
    ],
  );
});

Deno.test("packer: an entry bigger than the target gets a volume of its own", () => {
  assert.deepEqual(
    pack(10_000, [entry("a", 2500), entry("b", 2500), entry("huge", 50_000), entry("c", 10)])
      .map(([first, last]) => [first, last]),
    [["a", "b"], ["huge", "huge"], ["c", "c"]],
  );
});

Deno.test("packer: entries under 1/16 of the target join the big entry after them", () => {
  const dir = (name: string) => entry(name, 0);
  assert.deepEqual(
    pack(40_000, [dir("x"), dir("x/big"), entry("x/big/huge", 50_000), entry("x/big/s", 100)])
      .map(([first, last]) => [first, last]),
    [["x", "x/big/huge"], ["x/big/s", "x/big/s"]],
  );
});

Deno.test("packer: hardlinks (size 0) and long or non-ASCII names weigh their headers", () => {
  assert.equal(tarEntryEstimate(0, "src/link"), 512);
  assert.equal(tarEntryEstimate(1, "src/a"), 1024);
  assert.equal(tarEntryEstimate(0, `src/${"n".repeat(120)}`), 1536);
  assert.equal(tarEntryEstimate(0, "src/é"), 1536);
  // 100 hardlinks never fill a 64 KiB volume; 100 one-byte files do.
  const links = Array.from({ length: 100 }, (_, i) => entry(`l${i}`, 0));
  assert.equal(pack(65_536, links).length, 1);
  const files = Array.from({ length: 100 }, (_, i) => entry(`f${i}`, 1));
  assert.equal(pack(65_536, files).length, 2);
});

Deno.test("packer: nothing added, no volume", () => {
  assert.deepEqual(pack(10_000, []), []);
});
