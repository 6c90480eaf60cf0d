/**
 * Packing looks at each file again: files gone since the scan are left out and marked vanished,
 * files that grew or shrank are stored as they are now, with the catalog updated.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { scanSources } from "../../lib/archive/scan.ts";
import { planVolumes } from "../../lib/backup/plan_volumes.ts";
import { HASH_BATCH, TAR_BATCH_BYTES, volumeTar } from "../../lib/archive/volume_tar.ts";
import { volumeRecords } from "../../lib/backup/build_volume.ts";
import { readTar } from "../../lib/archive/tar_reader.ts";
import { plannedCatalog } from "./helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";

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
