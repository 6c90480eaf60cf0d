/**
 * How the catalog copy is made: from the catalog's own file once checkpointed (no VACUUM INTO
 * first), unless a reader keeps the checkpoint from finishing or too many pages are free; either
 * way the copy is a complete database in rollback-journal mode, which opens without a `-shm` file
 * beside it, and the real `age` decrypts it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Catalog, type NewFile } from "../../lib/catalog/catalog.ts";
import { uploadCatalogCopy } from "../../lib/backup/catalog_copy.ts";
import { catalogCopyKey } from "../../lib/archive/layout.ts";
import { generateIdentity, recipientFromIdentity } from "../../lib/crypto/age.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import { needs, where } from "../../testing/platform.ts";
import { syntheticSettings } from "../manage/helpers.ts";

/** A new catalog in `dir` with `count` file rows (encrypted to its own identity when `keyed`). */
function catalogWithFiles(dir: string, count: number, keyed: boolean) {
  const identity = generateIdentity();
  const settings = syntheticSettings({
    bucket: `file://${join(dir, "bucket")}`,
    workDir: dir,
    encrypt: keyed,
  });
  const catalog = Catalog.create(
    join(dir, "state.sqlite3"),
    settings,
    keyed ? { identity, recipients: [recipientFromIdentity(identity)] } : { recipients: [] },
  );
  for (let start = 0; start < count; start += 1000) {
    const files: NewFile[] = Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({
      path: `/data/folder/${start + i}`,
      archivePath: `data/folder/${start + i}`,
      type: "file",
      size: start + i,
      mtimeMs: 0,
      mode: 0o644,
      linkTarget: null,
    }));
    catalog.insertFiles(files);
  }
  return { catalog, identity, settings };
}

/** Uploads the copy of `catalog` into the folder bucket `bucket`; returns the object's path. */
async function uploadCopy(catalog: Catalog, bucket: string, encrypted: boolean): Promise<string> {
  await Deno.mkdir(bucket, { recursive: true });
  await uploadCatalogCopy(catalog, createLocalStorage(bucket));
  return join(bucket, ...catalogCopyKey(catalog.settings(), encrypted).split("/"));
}

/**
 * The copy's rows and its journal mode bytes, opened read-only. A copy in WAL mode would be read
 * through a `-shm` file made beside it, which a read-only folder cannot hold: none may appear.
 */
function readCopy(path: string): { files: number; bytes: number; header: number[] } {
  const head = Deno.readFileSync(path).subarray(18, 20);
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const row = db.prepare("SELECT COUNT(*) AS files, SUM(size) AS bytes FROM files").get() as {
      files: number;
      bytes: number;
    };
    assert.equal(
      (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check,
      "ok",
    );
    assert.ok(!existsSync(`${path}-shm`) && !existsSync(`${path}-wal`), "opened without -shm");
    return { files: row.files, bytes: row.bytes, header: [...head] };
  } finally {
    db.close();
  }
}

function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

const SUM_OF_0_TO_1999 = 1999 * 2000 / 2;

Deno.test(
  where(
    needs("age"),
    "the catalog copy is the checkpointed catalog file, in rollback-journal mode, which age decrypts",
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "glacier-catalog-copy-" });
      try {
        const { catalog, identity } = catalogWithFiles(dir, 2000, true);
        // Rows only in the -wal file until the checkpoint: the copy must hold them too.
        assert.ok(Deno.statSync(`${catalog.path}-wal`).size > 0, "test setup: rows in the WAL");
        const object = await uploadCopy(catalog, join(dir, "bucket"), true);
        assert.equal(catalog.checkpointedFile(), catalog.path);
        catalog.close();
        await Deno.writeTextFile(join(dir, "key.txt"), `${identity}\n`);
        const plain = join(dir, "copy", "catalog.sqlite3");
        await Deno.mkdir(join(dir, "copy"));
        const age = await new Deno.Command("age", {
          args: ["-d", "-i", join(dir, "key.txt"), "-o", plain, object],
        }).output();
        assert.equal(age.code, 0, new TextDecoder().decode(age.stderr));
        assert.deepEqual(readCopy(plain), { files: 2000, bytes: SUM_OF_0_TO_1999, header: [1, 1] });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  ),
);

Deno.test("an unencrypted catalog copy is the whole catalog, in rollback-journal mode", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-catalog-copy-" });
  try {
    const { catalog } = catalogWithFiles(dir, 2000, false);
    const object = await uploadCopy(catalog, join(dir, "bucket"), false);
    catalog.close();
    assert.deepEqual(readCopy(object), { files: 2000, bytes: SUM_OF_0_TO_1999, header: [1, 1] });
    // The catalog itself is left in WAL mode.
    assert.deepEqual([...Deno.readFileSync(join(dir, "state.sqlite3")).subarray(18, 20)], [2, 2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a catalog a reader keeps from being checkpointed is copied with VACUUM INTO", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-catalog-copy-" });
  const { catalog } = catalogWithFiles(dir, 2000, false);
  // Another connection in the middle of a read: the checkpoint cannot empty the -wal file.
  const reader = new DatabaseSync(catalog.path, { readOnly: true });
  try {
    reader.exec("BEGIN");
    reader.prepare("SELECT COUNT(*) FROM files").get();
    catalog.insertFiles([{
      path: "/data/late",
      archivePath: "data/late",
      type: "file",
      size: 7,
      mtimeMs: 0,
      mode: 0o644,
      linkTarget: null,
    }]);
    assert.equal(catalog.checkpointedFile(), undefined);
    const object = await uploadCopy(catalog, join(dir, "bucket"), false);
    assert.deepEqual(readCopy(object), {
      files: 2001,
      bytes: SUM_OF_0_TO_1999 + 7,
      header: [1, 1],
    });
  } finally {
    reader.close();
    catalog.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a catalog with many free pages is copied compacted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-catalog-copy-" });
  const { catalog } = catalogWithFiles(dir, 20_000, false);
  try {
    catalog.db.exec("DELETE FROM files WHERE id > 2000");
    assert.equal(catalog.checkpointedFile(), undefined);
    const object = await uploadCopy(catalog, join(dir, "bucket"), false);
    assert.ok(
      Deno.statSync(object).size * 2 < Deno.statSync(catalog.path).size,
      "the copy leaves the free pages out",
    );
    const copy = readCopy(object);
    assert.equal(copy.files, 2000);
    assert.deepEqual(copy.header, [1, 1]);
  } finally {
    catalog.close();
    await Deno.remove(dir, { recursive: true });
  }
});
