/**
 * Regression tests of restore fixes: a restore that leaves existing files alone still finishes
 * (folder attributes, staging removed); a backup whose source root is `/` (archive path "", `./`
 * in every volume) restores; an entry the file system refuses is reported and skipped; a volume
 * missing from the bucket names its files (exit 1); a refused volume's download is removed; Ctrl-C
 * at the confirmation question stops; names with a newline or a terminal escape are quoted in
 * warnings.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { diffTrees } from "../../testing/tree.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { volumeTar } from "../../lib/archive/volume_tar.ts";
import { encodeVolume } from "../../lib/archive/volume_format.ts";
import { volumeRecords } from "../../lib/backup/build_volume.ts";
import { askYesNo, type LineSource } from "../../lib/cli/confirm.ts";
import { typedInput } from "../../testing/bytes.ts";
import { withFolderBucket } from "./helpers.ts";
import { PARALLEL_CHECK_BYTES } from "../../lib/restore/restore_volume.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { skipOnWindows, underWine, where } from "../../testing/platform.ts";

/**
 * Applies `sql` to the catalog of an unencrypted, uncompressed backup, then writes every volume
 * again from the changed catalog (with lib/archive/volume_tar.ts, as the backup does) and records
 * its new size and SHA-256.
 */
async function rewriteVolumes(stateDb: string, bucketDir: string, sql: string): Promise<void> {
  const db = new DatabaseSync(stateDb);
  db.exec(sql);
  db.close();
  const catalog = Catalog.open(stateDb);
  const volumes = catalog.volumes();
  const sealed: { id: number; size: number; sha256: string }[] = [];
  try {
    for (const volume of volumes) {
      const tar = new Uint8Array(
        await new Response(volumeTar(volumeRecords(catalog, volume.id)).stream).arrayBuffer(),
      );
      await Deno.writeFile(join(bucketDir, volume.objectKey), tar);
      const sha256 = createHash("sha256").update(tar).digest("hex");
      sealed.push({ id: volume.id, size: tar.length, sha256 });
    }
  } finally {
    catalog.close();
  }
  const update = new DatabaseSync(stateDb);
  for (const v of sealed) {
    update.prepare("UPDATE volumes SET size = ?, sha256 = ? WHERE id = ?").run(
      v.size,
      v.sha256,
      v.id,
    );
  }
  update.close();
}

const PLAIN = ["--compression", "none", "--no-encrypt"];

Deno.test("a file left alone (no --overwrite) still gets folder attributes and no staging", async () => {
  await withFolderBucket(async ({ root, src, backup, restore }) => {
    const stateDb = await backup();
    const dest = join(root, "restored");
    const destSrc = join(dest, archivePath(src));
    await Deno.mkdir(join(destSrc, "docs"), { recursive: true });
    await Deno.writeTextFile(join(destSrc, "docs/readme.md"), "the user's own");

    for (let run = 0; run < 2; run++) {
      const result = await restore([stateDb, "--to", dest]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /docs\/readme\.md: already exists; left alone/);
      await assert.rejects(Deno.lstat(join(dest, ".glacier-restore")), Deno.errors.NotFound);
      const diff = await diffTrees(src, destSrc);
      assert.ok(diff.length > 0 && diff.every((d) => d.startsWith("docs/readme.md:")), `${diff}`);
      assert.equal(await Deno.readTextFile(join(destSrc, "docs/readme.md")), "the user's own");
    }

    const bold = await restore([stateDb, "--to", dest, "--overwrite"]);
    assert.equal(bold.code, 0, bold.stderr);
    assert.deepEqual(await diffTrees(src, destSrc), []);
  });
});

Deno.test("a backup whose source root is / (a `./` folder in every volume) restores", async () => {
  await withFolderBucket(async ({ root, src, bucketDir, backup, restore }) => {
    const stateDb = await backup(...PLAIN);
    // Make the catalog what a backup of `--src-dirs /` gives, with src playing `/`.
    const prefix = archivePath(src).replaceAll("'", "''");
    await rewriteVolumes(
      stateDb,
      bucketDir,
      `UPDATE files SET archive_path = CASE WHEN archive_path = '${prefix}' THEN '' ` +
        `ELSE substr(archive_path, ${prefix.length + 2}) END`,
    );
    const catalog = Catalog.open(stateDb);
    const volumes = catalog.volumes().length;
    catalog.close();
    assert.ok(volumes >= 2, "the test needs a volume that repeats the root folder");

    const dest = join(root, "restored");
    await Deno.mkdir(dest, { mode: 0o751 });
    await Deno.chmod(dest, 0o751);
    const destMode = (await Deno.stat(dest)).mode; // 0o751, or what Windows keeps of it
    const result = await restore([stateDb, "--to", dest]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await diffTrees(src, dest), []);
    assert.equal((await Deno.stat(dest)).mode, destMode, "--to itself is left as it was");
  });
});

Deno.test("an entry the file system refuses is reported and the others are restored", async () => {
  await withFolderBucket(async ({ root, src, bucketDir, backup, restore }) => {
    const stateDb = await backup(...PLAIN);
    const longName = "n".repeat(300); // over NAME_MAX: ENAMETOOLONG
    await rewriteVolumes(
      stateDb,
      bucketDir,
      `UPDATE files SET archive_path = replace(archive_path, 'docs/readme.md', ` +
        `'docs/${longName}') WHERE archive_path LIKE '%/docs/readme.md'`,
    );
    const dest = join(root, "restored");
    for (let run = 0; run < 2; run++) {
      const result = await restore([stateDb, "--to", dest]);
      assert.equal(result.code, 1, result.stderr);
      // Wine says "File not found" where Linux says "File name too long".
      const why = underWine ? "" : ".*too long";
      assert.match(result.stderr, new RegExp(`docs/${longName}: cannot be written: ${why}`));
      assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), [
        "missing: docs/readme.md",
      ]);
      await assert.rejects(Deno.lstat(join(dest, ".glacier-restore")), Deno.errors.NotFound);
    }
  });
});

Deno.test("a volume missing from the bucket: its files are named, the rest restored, exit 1", async () => {
  await withFolderBucket(async ({ root, src, bucketDir, backup, restore }) => {
    const stateDb = await backup();
    const catalog = Catalog.open(stateDb);
    const volumes = catalog.volumes();
    assert.ok(volumes.length >= 2, "the test needs two volumes");
    const gone = volumes[volumes.length - 1];
    const goneEntries = catalog.filesOfVolume(gone.id, 0, 100_000).map((f) => f.archivePath);
    catalog.close();
    assert.ok(goneEntries.length > 0);
    await Deno.remove(join(bucketDir, gone.objectKey));

    const dest = join(root, "restored");
    const result = await restore([stateDb, "--to", dest]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`volume ${gone.name} is missing`));
    for (const path of goneEntries.slice(0, 50)) {
      assert.ok(result.stderr.includes(`${path}: cannot be restored`), `${path} not named`);
    }
    assert.doesNotMatch(result.stderr, /run the same command again/);
    const missing = new Set(goneEntries.map((p) => `missing: ${p.slice(src.length)}`));
    const diff = await diffTrees(src, join(dest, archivePath(src)));
    assert.ok(diff.length > 0 && diff.every((d) => missing.has(d)), `${diff}`);
    await assert.rejects(Deno.lstat(join(dest, ".glacier-restore")), Deno.errors.NotFound);
  });
});

Deno.test("a refused volume's download is removed from the staging folder", async () => {
  await withFolderBucket(async ({ root, bucketDir, backup, restore }) => {
    const stateDb = await backup(...PLAIN);
    // Volume 1 is replaced by bytes that are no TAR, and the catalog vouches for them: the
    // download passes its SHA-256 check and the extraction refuses it.
    const catalog = Catalog.open(stateDb);
    const [first] = catalog.volumes();
    catalog.close();
    const garbage = new Uint8Array(first.size!).fill(0x5a);
    await Deno.writeFile(join(bucketDir, first.objectKey), garbage);
    const db = new DatabaseSync(stateDb);
    db.prepare("UPDATE volumes SET sha256 = ? WHERE id = ?").run(
      createHash("sha256").update(garbage).digest("hex"),
      first.id,
    );
    db.close();

    const dest = join(root, "restored");
    const result = await restore([stateDb, "--to", dest]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, new RegExp(`${first.name}: .*`));
    assert.deepEqual([...Deno.readDirSync(join(dest, ".glacier-restore"))], []);
  });
});

for (const [large, packed] of [[false, false], [true, false], [true, true]]) {
  // A small volume is hashed before it is decoded; a large one while it is decoded, its entries
  // held until the hash is in (restore_volume.ts). Packed: compressed (zstd) and encrypted, as
  // volumes are by default.
  const what = (large ? "a large (hashed while decoded)" : "a small") +
    (packed ? " zstd and age" : "");
  Deno.test(`${what} forged volume in a file:// bucket is refused before any file of it is written`, async () => {
    await withFolderBucket(async ({ root, src, bucketDir, backup, restore }) => {
      const huge = join(src, "huge.bin");
      if (large) {
        const bytes = new Uint8Array(PARALLEL_CHECK_BYTES + 100_000);
        for (let i = 0; i < bytes.length; i += 65536) {
          crypto.getRandomValues(bytes.subarray(i, i + 65536));
        }
        await Deno.writeFile(huge, bytes);
      }
      const stateDb = await backup(...(packed ? [] : PLAIN));
      const catalog = Catalog.open(stateDb);
      const volumes = catalog.volumes();
      const target = large
        ? volumes.find((v) => catalog.filesOfVolume(v.id, 0, 10).some((f) => f.path === huge))!
        : volumes[0];
      const other = volumes.find((v) => v.id !== target.id)!;
      assert.equal(target.size! >= PARALLEL_CHECK_BYTES, large);
      const files = catalog.filesOfVolume(target.id, 0, 100_000).filter((f) => f.type === "file");
      const victim = files.find((f) => f.size > 0)!;
      // The forger rewrites the volume from a source whose file has other bytes (same size): a
      // valid volume whose entries match the catalog, which only the catalog's SHA-256 tells
      // apart.
      const original = await Deno.readFile(victim.path);
      await Deno.writeFile(victim.path, original.map((b) => b ^ 0xff));
      const tar = volumeTar(volumeRecords(catalog, target.id)).stream;
      const encoded = packed
        ? encodeVolume(tar, { compression: "zstd", encrypt: true }, {
          recipients: catalog.recipients(),
        })
        : tar;
      // Of the genuine volume's size: cut, or (a packed one) filled up with zeros.
      const forged = new Uint8Array(target.size!);
      forged.set(
        new Uint8Array(await new Response(encoded).arrayBuffer()).subarray(0, target.size!),
      );
      const otherFile = catalog.filesOfVolume(other.id, 0, 100_000).find((f) => f.type === "file")!;
      catalog.close();
      await Deno.writeFile(victim.path, original);
      // The source file as it was (its mtime too: the tree is compared at the end).
      await Deno.utime(victim.path, new Date(victim.mtimeMs), new Date(victim.mtimeMs));
      const genuine = await Deno.readFile(join(bucketDir, target.objectKey));
      await Deno.writeFile(join(bucketDir, target.objectKey), forged);

      const dest = join(root, "restored");
      const result = await restore([stateDb, "--to", dest]);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /does not match its SHA-256 in the catalog/);
      for (const file of files) {
        await assert.rejects(
          Deno.lstat(join(dest, archivePath(file.path))),
          Deno.errors.NotFound,
          `${file.path} of the forged volume was written`,
        );
      }
      // No part file of a held entry is left behind.
      const staged = [...Deno.readDirSync(join(dest, ".glacier-restore"))].map((e) => e.name);
      assert.deepEqual(staged.filter((name) => name.endsWith(".part")), []);
      // The other volumes went in; the bucket's object is left as it is.
      assert.deepEqual(
        await Deno.readFile(join(dest, archivePath(otherFile.path))),
        await Deno.readFile(otherFile.path),
      );
      assert.deepEqual(await Deno.readFile(join(bucketDir, target.objectKey)), forged);

      // With the genuine volume back, the same restore finishes and the tree is whole.
      await Deno.writeFile(join(bucketDir, target.objectKey), genuine);
      const again = await restore([stateDb, "--to", dest]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
    });
  });
}

Deno.test(
  where(
    skipOnWindows("Windows tells no owner or mode: every volume is copied there"),
    "a file:// volume that others can write is copied before it is checked, not read where it lies",
    async () => {
      await withFolderBucket(async ({ root, src, bucketDir, backup, restore }) => {
        const stateDb = await backup(...PLAIN);
        const catalog = Catalog.open(stateDb);
        const keys = catalog.volumes().map((v) => v.objectKey);
        catalog.close();
        const copied = /can be written by others: it is copied before it is checked/g;
        // Between a check and the decoding, a volume that someone else can write could change
        // under the restore: group- or world-writable volumes go through a copy, as from S3.
        for (const mode of [0o644, 0o664, 0o646]) {
          for (const key of keys) await Deno.chmod(join(bucketDir, key), mode);
          const dest = join(root, `restored-${mode.toString(8)}`);
          const result = await restore([stateDb, "--to", dest]);
          assert.equal(result.code, 0, result.stderr);
          const notes = result.stderr.match(copied) ?? [];
          assert.equal(notes.length, mode === 0o644 ? 0 : keys.length, `mode ${mode.toString(8)}`);
          assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
        }
      });
    },
  ),
);

/** A stdin that never answers. */
const silent: LineSource = { read: () => new Promise<number | null>(() => {}) };
const quiet = { writeSync: (bytes: Uint8Array) => bytes.length };

Deno.test("Ctrl-C before the question is answered rejects it with the abort reason", async () => {
  const interrupted = new DOMException("interrupted", "AbortError");
  await assert.rejects(
    askYesNo("proceed?", { signal: AbortSignal.abort(interrupted), input: silent, output: quiet }),
    (error) => error === interrupted,
  );

  const controller = new AbortController();
  const asked = askYesNo("proceed?", {
    signal: controller.signal,
    input: silent,
    output: {
      writeSync: (bytes) => (queueMicrotask(() => controller.abort(interrupted)), bytes.length),
    },
  });
  await assert.rejects(asked, (error) => error === interrupted);
});

Deno.test("the question still reads a yes or a no when not interrupted", async () => {
  const signal = new AbortController().signal;
  assert.equal(await askYesNo("go?", { signal, input: typedInput("yes\n"), output: quiet }), true);
  assert.equal(await askYesNo("go?", { signal, input: typedInput("n\n"), output: quiet }), false);
});

Deno.test(
  where(
    skipOnWindows("its file names cannot hold a newline or a terminal escape"),
    "restore warnings quote names with a newline or a terminal escape",
    async () => {
      await withFolderBucket(async ({ root, src, backup, restore }) => {
        await Deno.writeTextFile(join(src, "a\nb"), "newline\n");
        await Deno.writeTextFile(join(src, "\x1b[31mred"), "escape\n");
        const stateDb = await backup();
        // Files already in the destination are left alone and named, one warning each.
        const dest = join(root, "restored");
        await Deno.mkdir(join(dest, src), { recursive: true });
        await Deno.writeTextFile(join(dest, src, "a\nb"), "mine\n");
        await Deno.writeTextFile(join(dest, src, "\x1b[31mred"), "mine\n");
        const existing = await restore([stateDb, "--to", dest]);
        assert.equal(existing.code, 1, existing.stderr);
        assert.ok(!existing.stderr.includes("\x1b"), "no escape sequence reaches the terminal");
        const prefix = archivePath(src);
        for (const quoted of [`'${prefix}/a'$'\\n''b'`, `'${prefix}/'$'\\033''[31mred'`]) {
          assert.ok(
            existing.stderr.includes(`warn: ${quoted}: already exists; left alone`),
            `${quoted} in:\n${existing.stderr}`,
          );
        }
      });
    },
  ),
);
