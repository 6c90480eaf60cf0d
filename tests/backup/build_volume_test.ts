/**
 * `buildVolume` driven directly: the volume file it leaves is the one it records (size, SHA-256),
 * holds exactly the volume's entries, and an interrupted build leaves nothing behind; a volume
 * of many small files is packed on a worker thread.
 */
import { onWindows } from "../../testing/platform.ts";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  buildVolume,
  localVolumePath,
  packsOnWorker,
  WRITER_THREAD_MIN_BYTES,
  writesOnThread,
} from "../../lib/backup/build_volume.ts";
import {
  MANY_FILES_MIN_ENTRIES,
  SMALL_FILES_MAX_AVERAGE_BYTES,
} from "../../lib/archive/small_files.ts";
import { packWorkersStarted } from "../../lib/archive/volume_tar_worker.ts";
import { CompressorPool, compressWorkersStarted } from "../../lib/archive/compress_pool.ts";
import type { VolumeRecord } from "../../lib/catalog/catalog.ts";
import { decodeVolume } from "../../lib/archive/volume_format.ts";
import { VolumeWriterThread } from "../../lib/archive/volume_writer.ts";
import { readTar } from "../../lib/archive/tar_reader.ts";
import { generateIdentity, recipientFromIdentity } from "../../lib/crypto/age.ts";
import { makeSandbox } from "../../testing/sandbox.ts";
import { randomBytes } from "../../testing/tree.ts";
import { plannedCatalog } from "./helpers.ts";

const identity = generateIdentity();
const recipients = [recipientFromIdentity(identity)];

/** A sandbox whose source makes three volumes of 1 MiB (encrypted, zstd), planned not built. */
async function threeVolumes() {
  const box = await makeSandbox("glacier-build-");
  const contents = new Map<string, Uint8Array>();
  for (const name of ["one.bin", "two.bin", "three.bin"]) {
    const bytes = randomBytes(700_000);
    contents.set(name, bytes);
    await Deno.writeFile(join(box.src, name), bytes);
  }
  const catalog = await plannedCatalog(join(box.root), box.src, {
    workDir: join(box.root, "work"),
    volumeSize: 1024 * 1024,
    compression: "zstd",
  }, { identity, recipients });
  await Deno.mkdir(join(box.root, "work"));
  return { box, catalog, contents };
}

/** The two places a volume file is written: this thread, and the writer thread a run starts. */
const writers = [
  { where: "on this thread", make: () => undefined },
  { where: "on the writer thread", make: () => new VolumeWriterThread() },
];

for (const { where, make } of writers) {
  Deno.test(`buildVolume records the SHA-256 and size of the file it wrote, and the volume's entries (${where})`, async () => {
    const { box, catalog, contents } = await threeVolumes();
    const writer = make();
    try {
      const settings = catalog.settings();
      assert.equal(catalog.volumes().length, 3);
      const volume = catalog.volume(2);
      const progress: number[] = [];
      const built = await buildVolume(
        catalog,
        settings,
        volume,
        recipients,
        {
          onBytes: (bytes) => progress.push(bytes),
        },
        undefined,
        { writer },
      );

      const bytes = await Deno.readFile(built.path);
      assert.equal(built.path, localVolumePath(settings, volume));
      assert.equal(built.size, bytes.length);
      assert.equal(built.sha256, createHash("sha256").update(bytes).digest("hex"));
      // Windows has no modes; there the volume's folder is limited to the user (owner_only.ts).
      if (!onWindows) assert.equal((await Deno.stat(built.path)).mode! & 0o777, 0o600);
      const record = catalog.volume(2);
      assert.equal(record.state, "built");
      assert.equal(record.size, built.size);
      assert.equal(record.sha256, built.sha256);
      assert.deepEqual(catalog.volumes().map((v) => v.state), ["planned", "built", "planned"]);
      assert.deepEqual(
        [...Deno.readDirSync(settings.workDir)].map((e) => e.name),
        [volume.name],
        "no .partial file is left",
      );
      assert.equal(progress.at(-1), built.contentBytes);

      // The file decodes (age, zstd) to the TAR of this volume's file and the folders above it.
      const files = catalog.filesOfVolume(2, 0, 100);
      assert.equal(files.length, 1);
      const tar = decodeVolume(
        ReadableStream.from([bytes]),
        { compression: "zstd", encrypt: true },
        [identity],
      );
      const entries: string[] = [];
      for await (const { entry, body } of readTar(tar)) {
        entries.push(entry.path);
        if (entry.type !== "file") {
          await body.cancel();
          continue;
        }
        const name = entry.path.split("/").at(-1)!;
        assert.deepEqual(
          new Uint8Array(await new Response(body).arrayBuffer()),
          contents.get(name),
        );
      }
      assert.equal(entries.at(-1), files[0].archivePath);
      assert.deepEqual(
        entries.slice(0, -1),
        catalog.ancestorFolders(files[0].path).map((f) => f.archivePath),
      );
      assert.equal(built.entries, 1);
    } finally {
      writer?.close();
      catalog.close();
      await box.cleanup();
    }
  });

  Deno.test(`an interrupted buildVolume leaves no file, not even a partial one, and the volume planned (${where})`, async () => {
    const box = await makeSandbox("glacier-build-");
    const writer = make();
    // Plain TAR (no age batching): the volume is written in many chunks, so the stop comes mid-way.
    await Deno.writeFile(join(box.src, "big.bin"), randomBytes(3_000_000));
    const catalog = await plannedCatalog(box.root, box.src, { workDir: join(box.root, "work") });
    await Deno.mkdir(join(box.root, "work"));
    try {
      const settings = catalog.settings();
      const stop = new AbortController();
      let chunks = 0;
      await assert.rejects(
        buildVolume(
          catalog,
          settings,
          catalog.volume(1),
          [],
          {
            onBytes: () => {
              if (++chunks === 2) stop.abort(new DOMException("stopped", "AbortError"));
            },
          },
          stop.signal,
          { writer },
        ),
        /stopped/,
      );
      assert.equal(chunks, 2);
      assert.deepEqual([...Deno.readDirSync(settings.workDir)], []);
      assert.equal(catalog.volume(1).state, "planned");
      assert.equal(catalog.volume(1).sha256, null);
    } finally {
      writer?.close();
      catalog.close();
      await box.cleanup();
    }
  });
}

Deno.test("the writer thread writes volumes of larger files from 16 MiB, never one of many small files", () => {
  const volume = (entries: number, plannedBytes: number) => ({
    ...({} as VolumeRecord),
    firstFileId: 1,
    lastFileId: entries,
    plannedBytes,
  });
  assert.equal(writesOnThread(volume(3, WRITER_THREAD_MIN_BYTES)), true);
  assert.equal(writesOnThread(volume(3, 1 << 30)), true);
  assert.equal(writesOnThread(volume(3, WRITER_THREAD_MIN_BYTES - 1)), false, "too small");
  // 10,000 files of 16 KiB: 160 MB, but packed on the pack worker and this thread.
  const small = volume(
    MANY_FILES_MIN_ENTRIES,
    MANY_FILES_MIN_ENTRIES * SMALL_FILES_MAX_AVERAGE_BYTES,
  );
  assert.ok(small.plannedBytes >= WRITER_THREAD_MIN_BYTES && packsOnWorker(small));
  assert.equal(writesOnThread(small), false, "many small files");
});

Deno.test("a volume of many small files is packed on a worker, others on this thread", async () => {
  const volume = (entries: number, plannedBytes: number) => ({
    ...({} as VolumeRecord),
    firstFileId: 101,
    lastFileId: 100 + entries,
    plannedBytes,
  });
  const many = MANY_FILES_MIN_ENTRIES;
  assert.equal(packsOnWorker(volume(many, many * SMALL_FILES_MAX_AVERAGE_BYTES)), true);
  assert.equal(packsOnWorker(volume(many, many * 300)), true);
  assert.equal(packsOnWorker(volume(many - 1, 0)), false, "too few files");
  assert.equal(
    packsOnWorker(volume(many, many * SMALL_FILES_MAX_AVERAGE_BYTES + 1)),
    false,
    "large",
  );

  // Built for real, through the worker: the volume holds every file, byte for byte.
  const box = await makeSandbox("glacier-build-");
  for (let i = 0; i < many; i++) Deno.writeTextFileSync(join(box.src, `f${i}`), `small ${i}`);
  const catalog = await plannedCatalog(box.root, box.src, { workDir: join(box.root, "work") });
  await Deno.mkdir(join(box.root, "work"));
  try {
    assert.equal(packsOnWorker(catalog.volume(1)), true);
    const started = packWorkersStarted();
    const built = await buildVolume(catalog, catalog.settings(), catalog.volume(1), []);
    assert.equal(packWorkersStarted(), started + 1);
    assert.equal(built.entries, many + 1);
    const tar = ReadableStream.from([Deno.readFileSync(built.path)]);
    assert.equal(await checkedSmallFiles(tar), many);
    assert.equal(catalog.volume(1).state, "built");
  } finally {
    catalog.close();
    await box.cleanup();
  }
});

Deno.test("a volume packed on the worker is compressed with zstd on this thread, gzip on the pool", async () => {
  const box = await makeSandbox("glacier-build-");
  for (let i = 0; i < MANY_FILES_MIN_ENTRIES; i++) {
    Deno.writeTextFileSync(join(box.src, `f${i}`), `small ${i}`);
  }
  const pool = new CompressorPool();
  try {
    for (const compression of ["zstd", "gzip"] as const) {
      const root = join(box.root, compression);
      await Deno.mkdir(join(root, "work"), { recursive: true });
      const catalog = await plannedCatalog(root, box.src, {
        workDir: join(root, "work"),
        compression,
      });
      try {
        const started = compressWorkersStarted();
        const built = await buildVolume(
          catalog,
          catalog.settings(),
          catalog.volume(1),
          [],
          {},
          undefined,
          { pool },
        );
        const workers = compressWorkersStarted() - started;
        if (compression === "zstd") assert.equal(workers, 0, "zstd: no compression worker");
        else assert.ok(workers >= 1, "gzip: the pool's workers");
        // Read back whole, frame by frame, as a restore reads it.
        const tar = decodeVolume(
          ReadableStream.from([Deno.readFileSync(built.path)]),
          { compression, encrypt: false },
          [],
        );
        assert.equal(await checkedSmallFiles(tar), MANY_FILES_MIN_ENTRIES);
      } finally {
        catalog.close();
      }
    }
  } finally {
    pool.close();
    await box.cleanup();
  }
});

/** Counts the files of a TAR stream of files `fN` holding `small N`, checking each one's text. */
async function checkedSmallFiles(tar: ReadableStream<Uint8Array>): Promise<number> {
  let files = 0;
  for await (const { entry, body } of readTar(tar)) {
    if (entry.type !== "file") {
      await body.cancel();
      continue;
    }
    const name = entry.path.split("/").at(-1)!;
    assert.equal(await new Response(body).text(), `small ${name.slice(1)}`);
    files++;
  }
  return files;
}
