/**
 * Packing on a worker thread and this one together gives what packing on this thread alone
 * gives, byte for byte, and fails or stops cleanly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  HASH_BATCH,
  type PackedFileHash,
  type PackRecord,
  volumeTar,
} from "../../lib/archive/volume_tar.ts";
import {
  packWorkersRunning,
  packWorkersStarted,
  RUN_RECORDS,
  runsPackedOnThisThread,
  volumeTarOnTwoThreads,
} from "../../lib/archive/volume_tar_worker.ts";
import { volumeRecords } from "../../lib/backup/build_volume.ts";
import type { Catalog } from "../../lib/catalog/catalog.ts";
import { plannedCatalog } from "./helpers.ts";
import { needs, needsSymlinks, where } from "../../testing/platform.ts";

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

/** Runs `fn` on a fresh `tree`, then closes its catalog and removes it. */
async function withTree(fn: (made: { src: string; catalog: Catalog }) => Promise<void>) {
  const root = await Deno.makeTempDir();
  const made = await tree(root);
  try {
    await fn(made);
  } finally {
    made.catalog.close();
    await Deno.remove(root, { recursive: true });
  }
}

/** Fails unless the two TAR streams are the same bytes. */
function assertSameBytes(shared: Uint8Array, alone: Uint8Array): void {
  assert.equal(shared.length, alone.length);
  assert.ok(shared.every((byte, i) => byte === alone[i]), "same TAR bytes");
}

const byId = <T extends { id: number }>(items: T[]): T[] => items.toSorted((a, b) => a.id - b.id);

Deno.test("a volume packed on two threads is the one packed on one: bytes, hashes, outcomes, totals", () =>
  withTree(async ({ catalog }) => {
    const alone = volumeTar(volumeRecords(catalog, 1));
    const aloneBytes = await bytesOf(alone.stream);
    const started = packWorkersStarted();
    const packedHere = runsPackedOnThisThread();
    const handed: PackedFileHash[] = [];
    const shared = volumeTarOnTwoThreads({
      ...volumeRecords(catalog, 1),
      onHashes: (hashes) => {
        assert.equal(hashes.length, HASH_BATCH, "hashes handed out in batches, on this thread");
        handed.push(...hashes);
      },
    });
    const sharedBytes = await bytesOf(shared.stream);
    assert.equal(packWorkersStarted(), started + 1);
    assert.equal(packWorkersRunning(), 0, "the worker ends with the stream");
    assert.ok(runsPackedOnThisThread() > packedHere, "this thread packed runs too");
    assertSameBytes(sharedBytes, aloneBytes);
    assert.equal(handed.length, HASH_BATCH);
    assert.deepEqual(byId([...handed, ...shared.hashes]), byId(alone.hashes));
    assert.deepEqual(byId(shared.updates), byId(alone.updates));
    assert.ok(shared.updates.some((u) => u.state === "vanished"));
    assert.deepEqual(shared.totals, alone.totals);
    assert.ok(shared.totals.bytes > 3_000_000);
  }));

Deno.test("a small file grown large since the scan, in a run this thread packs, is packed whole", () =>
  withTree(async ({ catalog }) => {
    // Runs 0-2 go to the worker first; this thread packs the next while the worker starts.
    const grown = [...volumeRecords(catalog, 1).files as Iterable<PackRecord>][3 * RUN_RECORDS + 7];
    assert.equal(grown.type, "file");
    const big = new Uint8Array(9_000_000).map((_, i) => (i * 7) % 251);
    await Deno.writeFile(grown.path, big);
    const alone = await bytesOf(volumeTar(volumeRecords(catalog, 1)).stream);
    const packedHere = runsPackedOnThisThread();
    const shared = volumeTarOnTwoThreads(volumeRecords(catalog, 1));
    const sharedBytes = await bytesOf(shared.stream);
    assert.ok(runsPackedOnThisThread() > packedHere, "this thread packed runs too");
    assert.ok(sharedBytes.length > big.length);
    assertSameBytes(sharedBytes, alone);
    const update = shared.updates.find((u) => u.id === grown.id);
    assert.equal(update?.size, big.length, "recorded at its new size");
  }));

Deno.test("a failure reading the records fails the stream with it, and the worker ends", () =>
  withTree(async ({ catalog }) => {
    // Early (among the pages sent ahead) and late (a page the worker asked for): the records
    // are gone through again and again to reach the late one.
    for (const failAt of [RUN_RECORDS + 5, 6 * RUN_RECORDS + 5]) {
      const records = volumeRecords(catalog, 1);
      const all = [...records.files as Iterable<PackRecord>];
      const files = function* (): Generator<PackRecord> {
        for (let n = 0;; n++) {
          if (n === failAt) throw new Error("the catalog broke");
          yield all[n % all.length];
        }
      };
      const tar = volumeTarOnTwoThreads({ ...records, files: files() });
      await assert.rejects(bytesOf(tar.stream), /the catalog broke/, `at ${failAt}`);
      assert.equal(packWorkersRunning(), 0);
    }
  }));

Deno.test("cancelling the stream stops the worker", () =>
  withTree(async ({ catalog }) => {
    const tar = volumeTarOnTwoThreads(volumeRecords(catalog, 1));
    const reader = tar.stream.getReader();
    const first = await reader.read();
    assert.equal(first.done, false);
    assert.equal(packWorkersRunning(), 1);
    await reader.cancel();
    assert.equal(packWorkersRunning(), 0);
  }));

Deno.test(
  where(
    needs("tar"),
    "hardlinks packed on two threads link to first names either thread packed, as real tar reads them",
    async () => {
      const root = await Deno.makeTempDir();
      const src = join(root, "src");
      try {
        await Deno.mkdir(join(src, "many"), { recursive: true });
        for (let i = 0; i < 6 * RUN_RECORDS; i++) {
          await Deno.writeTextFile(join(src, "many", `f${String(i).padStart(5, "0")}`), `${i}\n`);
        }
        // Second names of files all over the volume, whose first names both threads pack.
        await Deno.mkdir(join(src, "z-links"));
        for (let i = 0; i < 6 * RUN_RECORDS; i += 97) {
          const name = `f${String(i).padStart(5, "0")}`;
          await Deno.link(join(src, "many", name), join(src, "z-links", name));
        }
        const catalog = await plannedCatalog(root, src, { volumeSize: 1024 ** 3 });
        try {
          const records = [...volumeRecords(catalog, 1).files as Iterable<PackRecord>];
          const links = records.filter((r) => r.type === "hardlink");
          assert.equal(links.length, Math.ceil(6 * RUN_RECORDS / 97));
          const alone = await bytesOf(volumeTar(volumeRecords(catalog, 1)).stream);
          const packedHere = runsPackedOnThisThread();
          const tar = volumeTarOnTwoThreads(volumeRecords(catalog, 1));
          const bytes = await bytesOf(tar.stream);
          assert.ok(runsPackedOnThisThread() > packedHere, "this thread packed first names");
          assertSameBytes(bytes, alone);
          await Deno.writeFile(join(root, "v.tar"), bytes);
          const out = join(root, "out");
          await Deno.mkdir(out);
          const extracted = await new Deno.Command("tar", {
            args: ["-xf", join(root, "v.tar"), "-C", out],
          }).output();
          assert.ok(extracted.success, new TextDecoder().decode(extracted.stderr));
          for (const link of links) {
            const name = link.archivePath.slice(link.archivePath.lastIndexOf("/") + 1);
            const i = Number(name.slice(1));
            const path = join(out, link.archivePath);
            assert.equal(await Deno.readTextFile(path), `${i}\n`, link.archivePath);
            // A link, as on one thread: one file under two names, whichever thread packed each.
            const update = tar.updates.find((u) => u.id === link.id);
            assert.notEqual(update?.type, "file", `${link.archivePath} is not a copy`);
            const first = await Deno.stat(join(out, link.linkTarget!));
            assert.equal((await Deno.stat(path)).ino, first.ino, `${link.archivePath} is a link`);
          }
        } finally {
          catalog.close();
        }
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  ),
);
