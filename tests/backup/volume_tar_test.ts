/**
 * Packing looks at each file again: files gone since the scan are left out and marked vanished,
 * files that grew or shrank are stored as they are now, with the catalog updated.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { scanSources } from "../../lib/archive/scan.ts";
import { planVolumes } from "../../lib/backup/plan_volumes.ts";
import {
  BatchWriter,
  HASH_BATCH,
  type PackRecord,
  RunPacker,
  TAR_BATCH_BYTES,
  volumeTar,
} from "../../lib/archive/volume_tar.ts";
import { TAR_END_OF_ARCHIVE } from "../../lib/archive/tar_header.ts";
import { volumeRecords } from "../../lib/backup/build_volume.ts";
import { readTar } from "../../lib/archive/tar_reader.ts";
import { plannedCatalog } from "./helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needsSymlinks, where } from "../../testing/platform.ts";

Deno.test("files that vanish or change after the scan are handled when packed", async () => {
  const root = await Deno.makeTempDir();
  const src = join(root, "src");
  await Deno.mkdir(join(src, "sub"), { recursive: true });
  await Deno.writeTextFile(join(src, "keep.txt"), "keep");
  await Deno.writeTextFile(join(src, "gone.txt"), "gone soon");
  await Deno.writeTextFile(join(src, "sub", "grows.txt"), "short");
  const catalog = await plannedCatalog(root, src, { volumeSize: 1024 ** 3 });
  try {
    await Deno.remove(join(src, "gone.txt"));
    await Deno.writeTextFile(join(src, "sub", "grows.txt"), "much longer than before");
    const tar = volumeTar(volumeRecords(catalog, 1));
    const seen = new Map<string, string>();
    for await (const { entry, body } of readTar(tar.stream)) {
      seen.set(entry.path, entry.type === "file" ? await new Response(body).text() : entry.type);
    }
    const base = archivePath(src);
    assert.equal(seen.get(`${base}/keep.txt`), "keep");
    assert.equal(seen.get(`${base}/sub/grows.txt`), "much longer than before");
    assert.equal(seen.has(`${base}/gone.txt`), false);
    assert.equal(seen.get(`${base}/sub`), "directory");
    const byPath = new Map(tar.updates.map((u) => [
      catalog.filesAfter(u.id - 1, 1)[0].path,
      u,
    ]));
    assert.equal(byPath.get(join(src, "gone.txt"))?.state, "vanished");
    assert.equal(byPath.get(join(src, "sub", "grows.txt"))?.state, "stored");
    assert.equal(byPath.get(join(src, "sub", "grows.txt"))?.size, 23);
    assert.equal(byPath.has(join(src, "keep.txt")), false);
    // Each stored file's content hash is taken on the way (what `--rehash` compares later).
    const hashOf = new Map(tar.hashes.map((h) => [catalog.filesAfter(h.id - 1, 1)[0].path, h]));
    assert.equal(
      hashOf.get(join(src, "keep.txt"))?.sha256,
      createHash("sha256").update("keep").digest("hex"),
    );
    assert.equal(
      hashOf.get(join(src, "sub", "grows.txt"))?.sha256,
      createHash("sha256").update("much longer than before").digest("hex"),
    );
    assert.equal(hashOf.has(join(src, "gone.txt")), false);
  } finally {
    catalog.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("every volume repeats the folders above its first entry", async () => {
  const root = await Deno.makeTempDir();
  const src = join(root, "src");
  await Deno.mkdir(join(src, "a", "b"), { recursive: true });
  await Deno.writeFile(join(src, "a", "b", "one.bin"), new Uint8Array(700_000));
  await Deno.writeFile(join(src, "a", "b", "two.bin"), new Uint8Array(700_000));
  const catalog = await plannedCatalog(root, src, { volumeSize: 1024 ** 3 });
  try {
    const settings = { ...catalog.settings(), volumeSize: 1024 * 1024 };
    catalog.clearScan();
    await scanSources({ sourceDirs: [src], excludes: [], skipPaths: [] }, {
      addFiles: (files) => catalog.insertFiles(files),
      addProblem: () => {},
    });
    catalog.savePlan(planVolumes(catalog.eachFile(), settings));
    assert.equal(catalog.volumes().length, 2);
    const paths: string[] = [];
    for await (const { entry, body } of readTar(volumeTar(volumeRecords(catalog, 2)).stream)) {
      paths.push(entry.path);
      await body.cancel();
    }
    const base = archivePath(src);
    assert.deepEqual(paths, [base, `${base}/a`, `${base}/a/b`, `${base}/a/b/two.bin`]);
  } finally {
    catalog.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a volume hands its content hashes out in batches as it packs, never all at the end", async () => {
  const root = await Deno.makeTempDir();
  const src = join(root, "src");
  await Deno.mkdir(src);
  const files = HASH_BATCH * 2 + 10;
  for (let i = 0; i < files; i++) await Deno.writeTextFile(join(src, `f${i}`), `${i}`);
  const catalog = await plannedCatalog(root, src, { volumeSize: 1024 ** 3 });
  try {
    const batches: number[] = [];
    const handed = new Map<number, string>();
    const tar = volumeTar({
      ...volumeRecords(catalog, 1),
      onHashes: (hashes) => {
        batches.push(hashes.length);
        for (const h of hashes) handed.set(h.id, h.sha256);
      },
    });
    let packed = 0;
    for await (const { entry, body } of readTar(tar.stream)) {
      if (entry.type === "file") await body.cancel();
      packed++;
      // Hashes are handed out while the stream is still being read, not only at its end.
      if (packed === HASH_BATCH + 100) assert.deepEqual(batches, [HASH_BATCH]);
    }
    assert.deepEqual(batches, [HASH_BATCH, HASH_BATCH]);
    assert.equal(tar.hashes.length, 10, "the last, smaller batch stays for markVolumeBuilt");
    for (const h of tar.hashes) handed.set(h.id, h.sha256);
    assert.equal(handed.size, files);
    const [first] = catalog.filesAfter(0, 1_000_000).filter((f) => f.path === join(src, "f7"));
    assert.equal(handed.get(first.id), createHash("sha256").update("7").digest("hex"));
  } finally {
    catalog.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a file larger than a batch is handed on batch by batch as it is read, not read whole first", async () => {
  const root = await Deno.makeTempDir();
  const src = join(root, "src");
  await Deno.mkdir(src);
  const size = 5 * TAR_BATCH_BYTES + 123;
  const content = new Uint8Array(size).map((_, i) => i % 251);
  await Deno.writeFile(join(src, "big.bin"), content);
  await Deno.writeTextFile(join(src, "small.txt"), "after the big one");
  const catalog = await plannedCatalog(root, src, { volumeSize: 1024 ** 3 });
  try {
    const tar = volumeTar(volumeRecords(catalog, 1));
    const reader = tar.stream.getReader();
    const first = await reader.read();
    assert.equal(first.value?.length, TAR_BATCH_BYTES);
    assert.ok(tar.totals.bytes === 0, "the big file is not finished when its first batch is out");
    const chunks = [first.value!];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      assert.ok(next.value.length <= TAR_BATCH_BYTES);
      chunks.push(next.value);
    }
    const seen = new Map<string, Uint8Array>();
    for await (const { entry, body } of readTar(ReadableStream.from(chunks))) {
      if (entry.type === "file") seen.set(entry.path, await new Response(body).bytes());
    }
    assert.deepEqual(seen.get(`${archivePath(src)}/big.bin`), content);
    assert.equal(
      new TextDecoder().decode(seen.get(`${archivePath(src)}/small.txt`)),
      "after the big one",
    );
    assert.equal(
      tar.hashes.find((h) => h.sha256 === createHash("sha256").update(content).digest("hex"))
        ?.sha256.length,
      64,
    );
  } finally {
    catalog.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test(
  where(
    needsSymlinks(),
    "a file swapped for a symlink between its look and its open is not packed with the link target's bytes",
    async () => {
      // The attack: a user whose folder root backs up keeps swapping a file of theirs for a
      // symlink to a secret of the same size and mtime. lstat sees their file; open would follow
      // the link. What the handle opened must be the file lstat saw, or nothing is packed. One
      // file is read whole (taken back out of the batch after the read), one in batches (checked
      // before its first byte is read).
      const root = await Deno.makeTempDir();
      const src = join(root, "src");
      await Deno.mkdir(src);
      const mtime = new Date("2024-01-02T03:04:05Z");
      const swaps: { target: string; secret: string; stage: string }[] = [];
      for (const [name, size] of [["small.txt", 64], ["large.txt", 300 * 1024]] as const) {
        const swap = { target: join(src, name), secret: join(root, `secret-${name}`), stage: "" };
        swap.stage = await Deno.makeTempDir({ dir: root });
        await Deno.writeTextFile(swap.secret, "S".repeat(size));
        await Deno.writeTextFile(swap.target, "P".repeat(size));
        await Deno.utime(swap.secret, mtime, mtime);
        await Deno.utime(swap.target, mtime, mtime);
        swaps.push(swap);
      }
      const catalog = await plannedCatalog(root, src, { volumeSize: 1024 ** 3 });
      const swappers = swaps.map((swap) =>
        new Deno.Command(Deno.execPath(), {
          args: ["eval", swapLoop(swap.target, swap.secret, swap.stage)],
          stdout: "null",
          stderr: "inherit",
        }).spawn()
      );
      const packedAsFile = new Map<string, number>();
      const rounds = 1000;
      try {
        for (let round = 0; round < rounds; round++) {
          // By turns, as one thread packs a volume and as two do (each thread with a RunPacker).
          const tar = round % 2 === 0
            ? volumeTar(volumeRecords(catalog, 1)).stream
            : packedInRuns(volumeRecords(catalog, 1).files as Iterable<PackRecord>);
          for await (const { entry, body } of readTar(tar)) {
            if (entry.type !== "file") continue;
            const text = await new Response(body).text();
            assert.ok(
              !text.includes("S"),
              `round ${round}: the secret was packed as ${entry.path}`,
            );
            packedAsFile.set(entry.path, (packedAsFile.get(entry.path) ?? 0) + 1);
          }
        }
      } finally {
        for (const swapper of swappers) {
          swapper.kill();
          await swapper.status;
        }
        catalog.close();
        await Deno.remove(root, { recursive: true });
      }
      // The swapping went on while packing: each file was seen as a file in some rounds only.
      assert.equal(packedAsFile.size, 2);
      for (const [path, times] of packedAsFile) {
        assert.ok(times < rounds, `${path} packed as a file in every round: no swap seen`);
      }
    },
  ),
);

/** The TAR stream of `records` packed by a `RunPacker`, a run for each record. */
function packedInRuns(records: Iterable<PackRecord>): ReadableStream<Uint8Array> {
  const runs = new RunPacker();
  return ReadableStream.from(function* () {
    for (const record of records) yield* runs.pack([record]);
    yield TAR_END_OF_ARCHIVE;
  }());
}

/** A script that swaps `target` for a copy of itself and a symlink to `secret`, endlessly. */
function swapLoop(target: string, secret: string, stage: string): string {
  const [copy, link] = [join(stage, "copy"), join(stage, "link")];
  return `
    const [target, copy, link, secret] = ${JSON.stringify([target, copy, link, secret])};
    Deno.copyFileSync(target, copy + ".keep");
    const { mtime } = Deno.statSync(target);
    Deno.utimeSync(copy + ".keep", mtime, mtime);
    for (;;) {
      Deno.linkSync(copy + ".keep", copy);
      Deno.renameSync(copy, target);
      Deno.symlinkSync(secret, link);
      Deno.renameSync(link, target);
    }`;
}

Deno.test("what a batch writer takes back is gone, zeroed, across a full buffer", () => {
  const out = new BatchWriter();
  out.write(new Uint8Array(TAR_BATCH_BYTES - 10).fill(1));
  const mark = out.mark();
  out.write(new Uint8Array(100).fill(2));
  assert.equal(out.hasFull, true);
  out.rewind(mark);
  assert.equal(out.hasFull, false);
  out.write(new Uint8Array(5).fill(3));
  out.zeros(5);
  const [full, ...more] = [...out.takeFull()];
  assert.equal(more.length, 0);
  assert.deepEqual([...full.subarray(TAR_BATCH_BYTES - 12)], [1, 1, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0]);
  // What the next buffer starts with was never written: zeros, as padding expects.
  out.zeros(1);
  assert.ok(out.space(200).every((byte) => byte === 0));
});
