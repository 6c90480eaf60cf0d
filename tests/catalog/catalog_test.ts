import { onWindows } from "../../testing/platform.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Catalog, CatalogError } from "../../lib/catalog/catalog.ts";
import type { BackupSettings } from "../../lib/catalog/settings.ts";
import { CREATE_SCHEMA, MIGRATIONS, SCHEMA_VERSION } from "../../lib/catalog/schema.ts";
import {
  markVolumeBuilt,
  markVolumeDeleted,
  markVolumeFound,
  markVolumeMissing,
  markVolumeUploaded,
  resetVolume,
} from "../../lib/catalog/volume_state.ts";
import { planVolumes, VolumePlanner } from "../../lib/backup/plan_volumes.ts";
import { volumesNeeded } from "../../lib/catalog/chain.ts";
import { plannedFileRows, volumeEntryRows } from "../../lib/catalog/restore_state.ts";
import { unpackedFilesOfUploadedVolumes } from "../../lib/catalog/integrity.ts";
import { DatabaseSync } from "node:sqlite";

function settings(overrides: Partial<BackupSettings> = {}): BackupSettings {
  return {
    backupId: "20260101_000000",
    sourceDirs: ["/src"],
    bucket: "file:///tmp/bucket",
    prefix: "",
    workDir: "/tmp/work",
    workDirIsTemporary: false,
    baseName: "output.tar",
    volumeSize: 10_000,
    compression: "zstd",
    encrypt: true,
    storageClass: "DEEP_ARCHIVE",
    uploadWorkers: 2,
    excludes: [],
    ...overrides,
  };
}

async function withCatalog(fn: (catalog: Catalog, path: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "state.sqlite3");
  const catalog = Catalog.create(path, settings(), {
    identity: "AGE-SECRET-KEY-1X",
    recipients: ["age1x"],
  });
  try {
    await fn(catalog, path);
  } finally {
    catalog.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A catalog file at `path` as a glacier of schema `version` (2 or more) made it, with `recorded`
 * as its settings and no rows yet: the schema of version 1 and the migrations up to `version`.
 * Open, for the test to add rows in that version's shape.
 */
function rawCatalogOfVersion(
  path: string,
  version: number,
  recorded: BackupSettings = settings(),
): DatabaseSync {
  const raw = new DatabaseSync(path);
  raw.exec(CREATE_SCHEMA);
  for (const step of MIGRATIONS.slice(0, version - 1)) raw.exec(step);
  raw.exec(`PRAGMA user_version = ${version}`);
  raw.prepare("INSERT INTO meta (key, value) VALUES ('settings', ?)").run(
    JSON.stringify(recorded),
  );
  return raw;
}

function file(path: string, size: number) {
  return {
    path,
    archivePath: path.slice(1),
    type: "file" as const,
    size,
    mtimeMs: 1_700_000_000_000,
    mode: 0o644,
    linkTarget: null,
  };
}

Deno.test("a new catalog is private, in WAL mode, and keeps settings and keys", async () => {
  await withCatalog((catalog, path) => {
    if (!onWindows) assert.equal(Deno.statSync(path).mode! & 0o777, 0o600); // owner_only_test: Windows
    assert.deepEqual(catalog.settings(), settings());
    assert.equal(catalog.identity(), "AGE-SECRET-KEY-1X");
    assert.deepEqual(catalog.recipients(), ["age1x"]);
    assert.equal(catalog.phase(), "scanning");
    const db = new DatabaseSync(path, { readOnly: true });
    assert.equal(
      (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
      "wal",
    );
    db.close();
  });
});

Deno.test("a large batch of scanned files is stored whole, in order, every column kept", async () => {
  await withCatalog((catalog) => {
    // More rows than one multi-row INSERT takes, and not a multiple of it: both paths run.
    const files = Array.from({ length: 150 }, (_, i) => ({
      ...file(`/src/f${i}`, i),
      type: i % 3 === 0 ? "symlink" as const : "file" as const,
      mtimeMs: 1_700_000_000_000 + i + 0.5,
      mode: 0o600 + (i % 8),
      linkTarget: i % 3 === 0 ? `target${i}` : null,
    }));
    catalog.insertFiles(files.slice(0, 70));
    catalog.insertFiles(files.slice(70));
    const stored = catalog.filesAfter(0, 1000);
    assert.deepEqual(
      stored.map(({ path, archivePath, type, size, mtimeMs, mode, linkTarget }) => ({
        path,
        archivePath,
        type,
        size,
        mtimeMs,
        mode,
        linkTarget,
      })),
      files,
    );
    assert.deepEqual(stored.map((f) => f.id), files.map((_, i) => i + 1));
  });
});

Deno.test("packing and planning read every entry of a volume, in order, past one page", async () => {
  await withCatalog((catalog) => {
    // 600 entries of 512 TAR bytes each in volumes of 10,000 bytes: 19 to a volume; then one
    // volume of 1,000 entries, read in several pages.
    catalog.insertFiles(Array.from({ length: 600 }, (_, i) => file(`/src/a${i}`, 0)));
    catalog.savePlan(planVolumes(catalog.planEntries(), { ...settings(), volumeSize: 10_000 }));
    assert.equal(catalog.volumes().length, Math.ceil(600 / 19));
    catalog.clearScan();
    // The scan's `dev:ino` goes with each record (the packer's quick path compares it).
    catalog.insertFiles(
      Array.from({ length: 1000 }, (_, i) => ({
        ...file(`/src/b${i}`, i),
        fileId: i % 7 === 0 ? null : `2049:${i}`,
      })),
    );
    const toPlan = [...catalog.planEntries()];
    catalog.savePlan(planVolumes(toPlan, { ...settings(), volumeSize: 1e9 }));
    const expected = catalog.filesOfVolume(1, 0, 10_000).map(
      ({ volumeId: _v, state: _s, ctimeMs: _c, ...record }) => record,
    );
    assert.equal(expected.length, 1000);
    assert.equal(expected[1].fileId, "2049:1");
    assert.deepEqual([...catalog.packRecordsOfVolume(1)], expected);
    assert.deepEqual(
      toPlan,
      expected.map(({ id, size, archivePath }) => ({ id, size, archivePath })),
    );
    // Planned entries are not planned again.
    assert.deepEqual([...catalog.planEntries()], []);
  });
});

Deno.test("a restore reads a volume's rows and the planned rows whole, in order, past one page", async () => {
  await withCatalog((catalog) => {
    // 1,000 entries in one volume, with a symlink and a vanished file among them; 700 more
    // left without a volume: both walks cross several pages.
    catalog.insertFiles(Array.from({ length: 1000 }, (_, i) => file(`/src/a${i}`, i)));
    catalog.insertFiles([{ ...file("/src/link", 0), type: "symlink", linkTarget: "a1" }]);
    catalog.savePlan(planVolumes(catalog.planEntries(), { ...settings(), volumeSize: 1e9 }));
    markVolumeBuilt(catalog, 1, {
      size: 9,
      sha256: "ab".repeat(32),
      outcomes: [{ id: 7, state: "vanished", size: 6, mtimeMs: 1 }],
    });
    catalog.insertFiles(Array.from({ length: 700 }, (_, i) => file(`/src/b${i}`, 1)));
    const expected = catalog.filesOfVolume(1, 0, 10_000).map((
      { id, path, archivePath, type, state, linkTarget },
    ) => ({ id, path, archivePath, type, state, linkTarget }));
    assert.equal(expected.length, 1001);
    assert.equal(expected[6].state, "vanished");
    assert.deepEqual(expected.at(-1), {
      id: 1001,
      path: "/src/link",
      archivePath: "src/link",
      type: "symlink",
      state: "stored",
      linkTarget: "a1",
    });
    assert.deepEqual([...volumeEntryRows(catalog, 1)], expected);
    assert.deepEqual([...volumeEntryRows(catalog, 2)], []);
    const planned = [...plannedFileRows(catalog)];
    assert.equal(planned.length, 1701);
    assert.deepEqual(planned.map((r) => r.id), Array.from({ length: 1701 }, (_, i) => i + 1));
    assert.deepEqual(planned[6], {
      id: 7,
      archivePath: "src/a6",
      type: "file",
      size: 6,
      state: "vanished",
      volumeId: 1,
      volumeState: "built",
    });
    assert.deepEqual(planned[1001], {
      id: 1002,
      archivePath: "src/b0",
      type: "file",
      size: 1,
      // Recorded as its build will find it; with no volume, it is not restorable.
      state: "stored",
      volumeId: null,
      volumeState: null,
    });
  });
});

Deno.test("the plan splits files into consecutive volumes by size, big files alone", async () => {
  await withCatalog((catalog) => {
    catalog.insertFiles([
      file("/src/a", 2500),
      file("/src/b", 2500),
      file("/src/c", 2500),
      file("/src/huge", 50_000),
      file("/src/d", 100),
    ]);
    const plan = planVolumes(catalog.planEntries(), catalog.settings());
    assert.deepEqual(plan.map((v) => [v.firstFileId, v.lastFileId]), [[1, 3], [4, 4], [5, 5]]);
    assert.deepEqual(plan.map((v) => v.name), [
      "000001_output.tar.zst.age",
      "000002_output.tar.zst.age",
      "000003_output.tar.zst.age",
    ]);
    assert.equal(plan[0].objectKey, "20260101_000000/000001_output.tar.zst.age");
    catalog.savePlan(plan);
    assert.equal(catalog.phase(), "planned");
    assert.deepEqual(catalog.filesOfVolume(1, 0, 10).map((f) => f.path), [
      "/src/a",
      "/src/b",
      "/src/c",
    ]);
    assert.deepEqual(catalog.filesOfVolume(2, 0, 10).map((f) => f.path), ["/src/huge"]);
  });
});

Deno.test("parts are recorded per upload and cleared when the volume is uploaded", async () => {
  await withCatalog((catalog) => {
    catalog.insertFiles([file("/src/a", 10)]);
    catalog.savePlan(planVolumes(catalog.planEntries(), catalog.settings()));
    markVolumeBuilt(catalog, 1, { size: 1234, sha256: "ab".repeat(32), outcomes: [] });
    catalog.startUpload(1, "upload-1", 16);
    catalog.recordPart(1, "upload-1", { partNumber: 2, etag: '"e2"', size: 16 });
    catalog.recordPart(1, "upload-1", { partNumber: 1, etag: '"e1"', size: 16 });
    assert.deepEqual(catalog.parts(1, "upload-1").map((p) => p.partNumber), [1, 2]);
    assert.deepEqual(catalog.parts(1, "other"), []);
    const v = catalog.volume(1);
    assert.equal(v.state, "built");
    assert.equal(v.uploadId, "upload-1");
    markVolumeUploaded(catalog, 1);
    assert.equal(catalog.volume(1).state, "uploaded");
    assert.deepEqual(catalog.parts(1, "upload-1"), []);
  });
});

Deno.test("the volume state machine moves a volume and its files together", async () => {
  await withCatalog((catalog) => {
    catalog.insertFiles([file("/src/a", 10), file("/src/b", 10), file("/src/c", 10)]);
    catalog.savePlan(planVolumes(catalog.planEntries(), catalog.settings()));
    const states = () => ({
      volume: catalog.volume(1).state,
      files: [...catalog.eachFileOfVolume(1)].map((f) => f.state),
    });
    const seen = () => catalog.fileTotals().map((t) => [t.state, t.count]);
    // Recorded as a build that packs them as scanned leaves them; read as pending until it does.
    assert.deepEqual(states(), { volume: "planned", files: ["stored", "stored", "stored"] });
    assert.deepEqual(seen(), [["pending", 3]]);
    const vanished = { id: 2, state: "vanished" as const, size: 10, mtimeMs: 1 };
    markVolumeBuilt(catalog, 1, { size: 99, sha256: "cd".repeat(32), outcomes: [vanished] });
    assert.deepEqual(states(), { volume: "built", files: ["stored", "vanished", "stored"] });
    assert.deepEqual(seen(), [["stored", 2], ["vanished", 1]]);
    assert.equal(catalog.volume(1).size, 99);
    catalog.startUpload(1, "u", 16);
    catalog.recordPart(1, "u", { partNumber: 1, etag: '"e"', size: 16 });
    // The local file was lost: back to planned, parts of the lost bytes forgotten.
    // The lost build's outcomes are forgotten with it.
    resetVolume(catalog, 1);
    assert.deepEqual(states(), { volume: "planned", files: ["stored", "stored", "stored"] });
    assert.deepEqual(seen(), [["pending", 3]]);
    assert.equal(catalog.volume(1).sha256, null);
    assert.deepEqual(catalog.parts(1, "u"), []);
    markVolumeBuilt(catalog, 1, { size: 99, sha256: "cd".repeat(32), outcomes: [vanished] });
    markVolumeUploaded(catalog, 1);
    assert.equal(markVolumeMissing(catalog, 1), 2);
    assert.deepEqual(states(), { volume: "missing", files: ["missing", "vanished", "missing"] });
    assert.equal(markVolumeFound(catalog, 1), 2);
    assert.deepEqual(states(), { volume: "uploaded", files: ["stored", "vanished", "stored"] });
    // Found again only from missing: an uploaded volume stays as it is.
    assert.equal(markVolumeFound(catalog, 1), 0);
    assert.equal(markVolumeDeleted(catalog, 1), 2);
    assert.deepEqual(states(), { volume: "deleted", files: ["deleted", "vanished", "deleted"] });
  });
});

Deno.test("a failed transaction leaves nothing behind", async () => {
  await withCatalog((catalog) => {
    assert.throws(() =>
      catalog.transaction(() => {
        catalog.insertFiles([file("/src/a", 10)]);
        throw new Error("boom");
      })
    );
    assert.deepEqual(catalog.filesAfter(0, 10), []);
  });
});

Deno.test("open refuses missing, foreign, corrupt and newer-schema files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.throws(() => Catalog.open(join(dir, "nope.sqlite3")), CatalogError);
    const garbage = join(dir, "garbage.sqlite3");
    await Deno.writeTextFile(garbage, "this is not a database at all".repeat(100));
    assert.throws(() => Catalog.open(garbage), CatalogError);
    const foreign = join(dir, "foreign.sqlite3");
    const db = new DatabaseSync(foreign);
    db.exec("CREATE TABLE t (x)");
    db.close();
    assert.throws(() => Catalog.open(foreign), /not a glacier state database/);
    const newer = join(dir, "newer.sqlite3");
    Catalog.create(newer, settings(), { recipients: [] }).close();
    const raw = new DatabaseSync(newer);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => Catalog.open(newer), /newer than this program/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("folders before a big file join its volume instead of making a tiny one", async () => {
  await withCatalog((catalog) => {
    catalog.insertFiles([
      { ...file("/src", 0), type: "directory" },
      { ...file("/src/big", 0), type: "directory" },
      file("/src/big/huge", 50_000),
      file("/src/big/small", 100),
    ]);
    const plan = planVolumes(catalog.planEntries(), { ...catalog.settings(), volumeSize: 40_000 });
    assert.deepEqual(plan.map((v) => [v.firstFileId, v.lastFileId]), [[1, 3], [4, 4]]);
  });
});

Deno.test("a version-2 catalog is migrated on open, keeps its files, and takes hardlinks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "v2.sqlite3");
    const raw = rawCatalogOfVersion(path, 2);
    raw.prepare(
      "INSERT INTO files (path, archive_path, type, size, mtime_ms, mode) VALUES (?, ?, ?, ?, ?, ?)",
    ).run("/src/a", "src/a", "file", 5, 1, 0o644);
    assert.throws(() =>
      raw.prepare(
        "INSERT INTO files (path, archive_path, type, size, mtime_ms, mode) VALUES (?, ?, ?, ?, ?, ?)",
      ).run("/src/b", "src/b", "hardlink", 0, 1, 0o644)
    );
    raw.close();

    const catalog = Catalog.open(path);
    try {
      catalog.insertFiles([{ ...file("/src/b", 0), type: "hardlink", linkTarget: "src/a" }]);
      const files = catalog.filesAfter(0, 10);
      assert.deepEqual(files.map((f) => [f.path, f.type, f.linkTarget]), [
        ["/src/a", "file", null],
        ["/src/b", "hardlink", "src/a"],
      ]);
      const version = catalog.db.prepare("PRAGMA user_version").get() as { user_version: number };
      assert.equal(version.user_version, SCHEMA_VERSION);
    } finally {
      catalog.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a read-only open of an older schema reads a migrated private copy and leaves the file as it was", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "old.sqlite3");
    const made = Catalog.create(path, settings(), { recipients: [] });
    made.insertFiles([file("/src/a", 5)]);
    made.close();
    const raw = new DatabaseSync(path);
    raw.exec("DROP TABLE restore_extracted; DROP TABLE restore_jobs; DROP TABLE restore_thaws");
    raw.exec(
      "DROP TABLE chain; DROP TABLE deleted_paths; ALTER TABLE volumes DROP COLUMN backup_id; " +
        "ALTER TABLE files DROP COLUMN ctime_ms; ALTER TABLE files DROP COLUMN file_id; " +
        "DROP TABLE content_hashes",
    );
    raw.exec("PRAGMA user_version = 1");
    raw.close();
    const before = await Deno.readFile(path);
    // SQLite itself may leave empty -wal and -shm files beside a WAL database it read.
    const names = () =>
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => !/-(wal|shm)$/.test(n)).sort();
    const around = names();

    const reader = Catalog.open(path, { readOnly: true });
    const version = reader.db.prepare("PRAGMA user_version").get() as { user_version: number };
    assert.equal(version.user_version, SCHEMA_VERSION);
    assert.deepEqual(reader.filesAfter(0, 10).map((f) => f.path), ["/src/a"]);
    assert.equal((reader.db.prepare("SELECT COUNT(*) AS n FROM restore_jobs").get())?.n, 0);
    reader.close();
    reader.close();

    assert.deepEqual(await Deno.readFile(path), before);
    assert.deepEqual(names(), around);
    const migrated = Catalog.open(path);
    assert.equal(
      (migrated.db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
      SCHEMA_VERSION,
    );
    migrated.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a version-3 catalog is migrated to a full backup: its own chain, no base", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "v3.sqlite3");
    const raw = rawCatalogOfVersion(path, 3, settings({ prefix: "nightly" }));
    raw.exec("INSERT INTO keys (kind, value) VALUES ('recipient', 'age1x')");
    raw.exec(
      "INSERT INTO volumes (id, name, object_key, storage_class, first_file_id, last_file_id, " +
        "planned_bytes, state) VALUES (1, '000001_output.tar.zst.age', " +
        "'nightly/20260101_000000/000001_output.tar.zst.age', 'DEEP_ARCHIVE', 1, 1, 5, 'uploaded')",
    );
    raw.prepare(
      "INSERT INTO files (path, archive_path, type, size, mtime_ms, mode, volume_id, state) " +
        "VALUES (?, ?, ?, ?, ?, ?, 1, 'stored')",
    ).run("/src/a", "src/a", "file", 5, 1, 0o644);
    raw.close();

    const catalog = Catalog.open(path);
    try {
      assert.deepEqual(catalog.chain(), [{
        backupId: "20260101_000000",
        catalogKey: "nightly/20260101_000000/catalog.sqlite3.age",
      }]);
      assert.equal(catalog.baseBackupId(), undefined);
      const [a] = catalog.filesAfter(0, 10);
      assert.deepEqual([a.ctimeMs, a.fileId], [null, null]);
      assert.equal(catalog.db.prepare("SELECT COUNT(*) AS n FROM content_hashes").get()?.n, 0);
      assert.equal(catalog.volume(1).backupId, null);
      assert.deepEqual(volumesNeeded(catalog), [{
        backupId: "20260101_000000",
        name: "000001_output.tar.zst.age",
        objectKey: "nightly/20260101_000000/000001_output.tar.zst.age",
      }]);
    } finally {
      catalog.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a version-5 catalog is migrated: files of volumes not built yet are recorded stored, others keep their state", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "v5.sqlite3");
    const raw = rawCatalogOfVersion(path, 5);
    const volume = raw.prepare(
      "INSERT INTO volumes (id, name, object_key, storage_class, first_file_id, last_file_id, " +
        "planned_bytes, state) VALUES (?, ?, ?, 'DEEP_ARCHIVE', ?, ?, 5, ?)",
    );
    volume.run(
      1,
      "000001_output.tar.zst.age",
      "20260101_000000/000001_output.tar.zst.age",
      1,
      2,
      "uploaded",
    );
    volume.run(
      2,
      "000002_output.tar.zst.age",
      "20260101_000000/000002_output.tar.zst.age",
      3,
      4,
      "planned",
    );
    const row = raw.prepare(
      "INSERT INTO files (id, path, archive_path, type, size, mtime_ms, mode, volume_id, state) " +
        "VALUES (?, ?, ?, 'file', 5, 1, 420, ?, ?)",
    );
    row.run(1, "/src/a", "src/a", 1, "stored");
    // Damaged: never marked packed, though its volume was uploaded.
    row.run(2, "/src/b", "src/b", 1, "pending");
    row.run(3, "/src/c", "src/c", 2, "pending");
    row.run(4, "/src/d", "src/d", 2, "pending");
    row.run(5, "/src/e", "src/e", null, "pending");
    raw.close();

    const catalog = Catalog.open(path);
    try {
      assert.deepEqual(catalog.filesAfter(0, 10).map((f) => [f.path, f.state]), [
        ["/src/a", "stored"],
        ["/src/b", "pending"],
        ["/src/c", "stored"],
        ["/src/d", "stored"],
        ["/src/e", "stored"],
      ]);
      // Read as before: files of the planned volume, or of none yet, are pending to the user.
      assert.deepEqual(
        catalog.fileTotals().map((t) => [t.state, t.count]).sort(),
        [["pending", 4], ["stored", 1]],
      );
      assert.deepEqual([...unpackedFilesOfUploadedVolumes(catalog)].map((f) => f.path), ["/src/b"]);
      markVolumeBuilt(catalog, 2, {
        size: 9,
        sha256: "ab".repeat(32),
        outcomes: [{ id: 4, state: "vanished", size: 5, mtimeMs: 1 }],
      });
      assert.deepEqual(
        catalog.filesAfter(0, 10).map((f) => f.state),
        ["stored", "pending", "stored", "vanished", "stored"],
      );
    } finally {
      catalog.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an incremental catalog holds its chain and the base's volumes it needs, and only those", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "incr.sqlite3");
    const base = {
      chain: [{ backupId: "20250101_000000", catalogKey: "20250101_000000/catalog.sqlite3.age" }],
      fingerprint: "f",
    };
    const catalog = Catalog.create(path, settings(), { recipients: ["age1x"] }, base);
    const baseVolume = (id: number) => ({
      id,
      name: `00000${id}_output.tar.zst.age`,
      objectKey: `20250101_000000/00000${id}_output.tar.zst.age`,
      storageClass: "DEEP_ARCHIVE",
      firstFileId: 1,
      lastFileId: 1,
      plannedBytes: 5,
      state: "uploaded" as const,
      size: 9,
      sha256: "ab",
      uploadId: null,
      partSize: null,
      backupId: null,
    });
    catalog.transaction(() => {
      catalog.addChainVolume(baseVolume(1), "20250101_000000");
      catalog.addChainVolume(baseVolume(2), "20250101_000000");
    });
    catalog.insertFiles([
      { ...file("/src/kept", 5), held: { volumeId: 2, state: "stored", contentSha256: "cd" } },
      file("/src/new", 7),
    ]);
    catalog.dropUnusedChainVolumes();
    catalog.savePlan(planVolumes(catalog.eachFile(), settings(), 3));
    catalog.close();

    const reopened = Catalog.open(path, { readOnly: true });
    try {
      assert.equal(reopened.baseBackupId(), "20250101_000000");
      assert.deepEqual(reopened.chain().map((l) => l.backupId), [
        "20250101_000000",
        "20260101_000000",
      ]);
      const files = reopened.filesAfter(0, 10);
      const hash = reopened.db.prepare("SELECT sha256 FROM content_hashes WHERE file_id = ?");
      assert.deepEqual(
        files.map((f) => [f.path, f.volumeId, f.state, hash.get(f.id)?.sha256 ?? null]),
        [
          ["/src/kept", 2, "stored", "cd"],
          ["/src/new", 3, "stored", null],
        ],
      );
      assert.deepEqual(reopened.ownVolumes().map((v) => v.id), [3]);
      assert.deepEqual(volumesNeeded(reopened).map((v) => [v.backupId, v.objectKey]), [
        ["20250101_000000", "20250101_000000/000002_output.tar.zst.age"],
        ["20260101_000000", "20260101_000000/000003_output.tar.zst.age"],
      ]);
    } finally {
      reopened.close();
    }

    // A chain volume of a backup outside the chain is refused like any forged name.
    const raw = new DatabaseSync(path);
    raw.exec(
      "UPDATE volumes SET backup_id = '20240101_000000', " +
        "object_key = '20240101_000000/000002_output.tar.zst.age' WHERE id = 2",
    );
    raw.close();
    assert.throws(
      () => Catalog.open(path, { readOnly: true }),
      /not an earlier backup of its chain/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("files recorded with the volumes planned as the scan goes give the plan made after it", async () => {
  // 600 entries of 512 TAR bytes, a big one among them, in volumes of 10,000 bytes, recorded in
  // batches of 70 with the volumes each batch touches: the same rows and volumes as planning
  // after the scan, and no file left without its volume for savePlan to assign.
  const sizes = Array.from({ length: 600 }, (_, i) => (i === 300 ? 50_000 : 0));
  const scanned = sizes.map((size, i) => file(`/src/a${String(i).padStart(3, "0")}`, size));
  let expected: ReturnType<Catalog["volumes"]> = [];
  await withCatalog((catalog) => {
    catalog.insertFiles(scanned);
    catalog.savePlan(planVolumes(catalog.planEntries(), catalog.settings()));
    expected = catalog.volumes();
  });
  await withCatalog((catalog) => {
    const planner = new VolumePlanner(catalog.settings());
    let nextId = catalog.nextFileId();
    for (let start = 0; start < scanned.length; start += 70) {
      const batch = scanned.slice(start, start + 70).map((f) => ({ ...f, id: nextId++ }));
      for (const f of batch) Object.assign(f, { volumeId: planner.place(f) });
      catalog.insertFiles(batch, planner.changed());
      // Every file's volume is recorded with it (the foreign key would refuse it otherwise).
      assert.equal(catalog.volumes().at(-1)!.lastFileId, nextId - 1);
    }
    assert.deepEqual([...catalog.planEntries()], []);
    catalog.savePlan(planner.finish());
    assert.ok(expected.length > 5);
    assert.deepEqual(catalog.volumes(), expected);
    for (const v of expected) {
      const ids = catalog.filesOfVolume(v.id, 0, 10_000).map((f) => f.id);
      assert.deepEqual(ids[0], v.firstFileId);
      assert.deepEqual(ids.at(-1), v.lastFileId);
      assert.equal(ids.length, v.lastFileId - v.firstFileId + 1);
    }
  });
});

Deno.test("a version 4 catalog's content hashes move to their own table, and packing writes there", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "v4.sqlite3");
    const made = Catalog.create(path, settings(), { recipients: [] });
    made.insertFiles([file("/src/a", 5), file("/src/b", 6), file("/src/c", 7)]);
    made.savePlan(planVolumes(made.planEntries(), made.settings()));
    made.close();
    const raw = new DatabaseSync(path);
    raw.exec("DROP TABLE content_hashes; ALTER TABLE files ADD COLUMN content_sha256 TEXT");
    raw.exec("UPDATE files SET content_sha256 = 'aa' WHERE path = '/src/a'");
    raw.exec("UPDATE files SET content_sha256 = 'cc' WHERE path = '/src/c'");
    raw.exec("PRAGMA user_version = 4");
    raw.close();

    const catalog = Catalog.open(path);
    try {
      const columns = catalog.db.prepare("SELECT name FROM pragma_table_info('files')").all()
        .map((r) => r.name);
      assert.ok(!columns.includes("content_sha256"));
      const hashes = () =>
        catalog.db.prepare("SELECT file_id, sha256 FROM content_hashes ORDER BY file_id").all()
          .map((r) => [r.file_id, r.sha256]);
      assert.deepEqual(hashes(), [[1, "aa"], [3, "cc"]]);
      // More hashes than one INSERT takes, and a rebuild's hash replaces the first one's.
      const many = Array.from({ length: 130 }, (_, i) => ({ id: 1000 + i, sha256: `h${i}` }));
      markVolumeBuilt(catalog, 1, {
        size: 1,
        sha256: "ab",
        outcomes: [],
        hashes: [{ id: 1, sha256: "a2" }, ...many],
      });
      const all = hashes();
      assert.equal(all.length, 2 + 130);
      assert.deepEqual(all[0], [1, "a2"]);
      assert.deepEqual(all.at(-1), [1129, "h129"]);
      catalog.clearScan();
      assert.deepEqual(hashes(), []);
    } finally {
      catalog.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a deferred transaction lands or rolls back whole and leaves commits waiting for the disk again", async () => {
  await withCatalog((catalog) => {
    const synchronous = () =>
      (catalog.db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous;
    const FULL = 2;
    assert.equal(synchronous(), FULL);
    catalog.deferredTransaction(() => catalog.insertFiles([file("/src/a", 1)]));
    assert.equal(synchronous(), FULL);
    assert.throws(() =>
      catalog.deferredTransaction(() => {
        catalog.insertFiles([file("/src/b", 2)]);
        throw new Error("cut short");
      }), /cut short/);
    assert.equal(synchronous(), FULL);
    assert.deepEqual(catalog.filesAfter(0, 10).map((f) => f.path), ["/src/a"]);
  });
});

Deno.test("a summary's totals count the entries of built volumes as packed, and agree with fileTotals", async () => {
  await withCatalog((catalog) => {
    catalog.insertFiles(["/src/a", "/src/b", "/src/c", "/src/d"].map((p) => file(p, 10)));
    catalog.insertFiles([file("/src/big", 5000), file("/src/e", 10)]);
    const plan = planVolumes(catalog.planEntries(), { ...catalog.settings(), volumeSize: 4096 });
    catalog.savePlan(plan);
    assert.equal(plan.length, 3);
    const troubled = ["vanished", "unreadable", "changed"] as const;
    // Nothing built: nothing counts as stored yet.
    assert.deepEqual(catalog.storedTotals([...troubled]), { count: 0, bytes: 0, troubled: 0 });
    markVolumeBuilt(catalog, 1, {
      size: 9,
      sha256: "ab".repeat(32),
      outcomes: [
        { id: 2, state: "vanished", size: 10, mtimeMs: 1 },
        { id: 3, state: "changed", size: 25, mtimeMs: 2 },
      ],
    });
    markVolumeBuilt(catalog, 2, { size: 9, sha256: "cd".repeat(32), outcomes: [] });
    const totals = catalog.storedTotals([...troubled]);
    // a, c (grown to 25), d and big; e waits in the planned third volume.
    assert.deepEqual(totals, { count: 4, bytes: 10 + 25 + 10 + 5000, troubled: 2 });
    const seen = catalog.fileTotals();
    const sum = (states: string[]) =>
      seen.filter((t) => states.includes(t.state)).reduce((n, t) => n + t.count, 0);
    assert.equal(sum(["stored", "changed"]), totals.count);
    assert.equal(sum([...troubled]), totals.troubled);
    assert.equal(sum(["pending"]), 1);
  });
});

Deno.test("a new catalog's files table is the migrated one, but checks a row without a temporary index", async () => {
  await withCatalog((catalog, path) => {
    const migrated = rawCatalogOfVersion(`${path}.migrated`, SCHEMA_VERSION);
    try {
      const shape = (db: DatabaseSync) => ({
        columns: db.prepare("PRAGMA table_info(files)").all(),
        indexes: db.prepare(
          "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'files' " +
            "ORDER BY name",
        ).all(),
        references: db.prepare("PRAGMA foreign_key_list(files)").all(),
      });
      assert.deepEqual(shape(catalog.db), shape(migrated));

      const insert = "INSERT INTO files (path, archive_path, type, size, mtime_ms, mode, state) " +
        "VALUES ('/p', 'p', ?, 0, 0, 420, ?)";
      const tried = [
        ...["file", "directory", "symlink", "hardlink", "device", "FILE", "file ", ""]
          .map((type) => [type, "stored"]),
        ...["pending", "stored", "changed", "vanished", "unreadable", "missing", "deleted"]
          .concat(["lost", "Stored", ""]).map((state) => ["file", state]),
      ];
      const verdicts = (db: DatabaseSync) =>
        tried.map(([type, state]) => {
          try {
            db.prepare(insert).run(type, state);
            return `${type}/${state} taken`;
          } catch (error) {
            assert.match((error as Error).message, /CHECK constraint failed/);
            return `${type}/${state} refused`;
          }
        });
      const taken = verdicts(catalog.db);
      assert.deepEqual(taken, verdicts(migrated));
      assert.equal(taken.filter((verdict) => verdict.endsWith("taken")).length, 4 + 7);

      // The reason for the new form: SQLite checks an IN list through a temporary index that it
      // builds again for every row inserted; comparisons joined by OR build none.
      const opcodes = (db: DatabaseSync) =>
        db.prepare(`EXPLAIN ${insert}`).all().map((row) => row.opcode);
      assert.ok(opcodes(migrated).includes("OpenEphemeral"));
      assert.ok(!opcodes(catalog.db).includes("OpenEphemeral"));
    } finally {
      migrated.close();
    }
  });
});

Deno.test("a built volume's files are stored, and the table still refuses states it does not know", async () => {
  await withCatalog((catalog) => {
    catalog.insertFiles([file("/src/a", 10), file("/src/b", 20)]);
    catalog.savePlan(planVolumes(catalog.planEntries(), catalog.settings()));
    markVolumeBuilt(catalog, 1, { size: 99, sha256: "ab".repeat(32), outcomes: [] });
    const states = catalog.db.prepare("SELECT DISTINCT state FROM files").all();
    assert.deepEqual(states.map((row) => row.state), ["stored"]);
    assert.deepEqual(catalog.fileTotals().map((t) => [t.state, t.count]), [["stored", 2]]);
    assert.throws(
      () => catalog.db.prepare("UPDATE files SET state = 'lost' WHERE id = 1").run(),
      /CHECK constraint failed/,
    );
    assert.throws(
      () => catalog.db.prepare("UPDATE files SET type = 'device' WHERE id = 1").run(),
      /CHECK constraint failed/,
    );
  });
});
