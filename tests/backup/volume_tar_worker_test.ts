/**
 * Packing on a worker thread gives what packing on this thread gives, byte for byte, and fails
 * or stops cleanly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HASH_BATCH, type PackRecord, volumeTar } from "../../lib/archive/volume_tar.ts";
import {
  packWorkersRunning,
  packWorkersStarted,
  RECORD_PAGE,
  volumeTarOnWorker,
} from "../../lib/archive/volume_tar_worker.ts";
import { volumeRecords } from "../../lib/backup/build_volume.ts";
import type { Catalog } from "../../lib/catalog/catalog.ts";
import { plannedCatalog } from "./helpers.ts";
import { needsSymlinks } from "../../testing/platform.ts";

/**
 * A source tree of HASH_BATCH + 300 tiny files, a large one, a symlink (where they can be made),
 * a hardlink, and one gone since the scan.
 */
async function tree(root: string): Promise<{ src: string; catalog: Catalog }> {
  const src = join(root, "src");
  await Deno.mkdir(join(src, "many"), { recursive: true });
  for (let i = 0; i < HASH_BATCH + 300; i++) {
    await Deno.writeTextFile(join(src, "many", `f${i}`), `file ${i}\n`.repeat(i % 7));
  }
  await Deno.writeFile(join(src, "large.bin"), new Uint8Array(3_000_000).map((_, i) => i % 253));
  // Where symbolic links can be made (not under Wine, nor on a Windows that refuses them).
  if (needsSymlinks() === undefined) await Deno.symlink("large.bin", join(src, "link"));
  await Deno.link(join(src, "large.bin"), join(src, "second-name.bin"));
  await Deno.writeTextFile(join(src, "gone.txt"), "soon gone");
  const catalog = await plannedCatalog(root, src, { volumeSize: 1024 ** 3 });
  await Deno.remove(join(src, "gone.txt"));
  return { src, catalog };
}

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("a volume packed on a worker is the one packed here: bytes, hashes, outcomes, totals", async () => {
  const root = await Deno.makeTempDir();
  const { catalog } = await tree(root);
  try {
    const here = volumeTar(volumeRecords(catalog, 1));
    const hereBytes = await bytesOf(here.stream);
    const started = packWorkersStarted();
    const handed: number[] = [];
    const there = volumeTarOnWorker({
      ...volumeRecords(catalog, 1),
      onHashes: (hashes) => {
        handed.push(hashes.length);
        here.hashes.splice(0, hashes.length).forEach((h, i) => assert.deepEqual(hashes[i], h));
      },
    });
    const thereBytes = await bytesOf(there.stream);
    assert.equal(packWorkersStarted(), started + 1);
    assert.equal(packWorkersRunning(), 0, "the worker ends with the stream");
    assert.equal(thereBytes.length, hereBytes.length);
    assert.ok(thereBytes.every((byte, i) => byte === hereBytes[i]), "same TAR bytes");
    assert.deepEqual(handed, [HASH_BATCH], "hashes handed out in batches, on this thread");
    assert.deepEqual(there.hashes, here.hashes);
    assert.deepEqual(there.updates, here.updates);
    assert.ok(there.updates.some((u) => u.state === "vanished"));
    assert.deepEqual(there.totals, here.totals);
    assert.ok(there.totals.bytes > 3_000_000);
  } finally {
    catalog.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a failure reading the records fails the stream with it, and the worker ends", async () => {
  const root = await Deno.makeTempDir();
  const { catalog } = await tree(root);
  try {
    // Early (among the pages sent ahead) and late (a page the worker asked for): the records
    // are gone through again and again to reach the late one.
    for (const failAt of [RECORD_PAGE + 5, 6 * RECORD_PAGE + 5]) {
      const records = volumeRecords(catalog, 1);
      const all = [...records.files as Iterable<PackRecord>];
      const files = function* (): Generator<PackRecord> {
        for (let n = 0;; n++) {
          if (n === failAt) throw new Error("the catalog broke");
          yield all[n % all.length];
        }
      };
      const tar = volumeTarOnWorker({ ...records, files: files() });
      await assert.rejects(bytesOf(tar.stream), /the catalog broke/, `at ${failAt}`);
      assert.equal(packWorkersRunning(), 0);
    }
  } finally {
    catalog.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cancelling the stream stops the worker", async () => {
  const root = await Deno.makeTempDir();
  const { catalog } = await tree(root);
  try {
    const tar = volumeTarOnWorker(volumeRecords(catalog, 1));
    const reader = tar.stream.getReader();
    const first = await reader.read();
    assert.equal(first.done, false);
    assert.equal(packWorkersRunning(), 1);
    await reader.cancel();
    assert.equal(packWorkersRunning(), 0);
  } finally {
    catalog.close();
    await Deno.remove(root, { recursive: true });
  }
});
