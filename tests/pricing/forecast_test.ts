/**
 * The dry-run volume count agrees with the real volume plan, `--include` selection, and the
 * money and table formatting of the reports.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Catalog, type NewFile } from "../../lib/catalog/catalog.ts";
import type { BackupSettings } from "../../lib/catalog/settings.ts";
import { planVolumes } from "../../lib/backup/plan_volumes.ts";
import { forecastBackup, VolumeCounter } from "../../lib/pricing/backup_forecast.ts";
import { compileIncludes } from "../../lib/archive/patterns.ts";
import { selectFiles } from "../../lib/pricing/file_selection.ts";
import { formatDollars } from "../../lib/pricing/money.ts";
import { formatTable } from "../../lib/cli/table.ts";
import { makeTree, randomBytes } from "../../testing/tree.ts";

const MiB = 1024 * 1024;

function settingsFor(volumeSize: number, dir: string): BackupSettings {
  return {
    backupId: "20260101_000000",
    sourceDirs: [dir],
    bucket: "file:///nowhere",
    prefix: "",
    workDir: dir,
    workDirIsTemporary: false,
    baseName: "out.tar",
    volumeSize,
    compression: "none",
    encrypt: false,
    storageClass: "DEEP_ARCHIVE",
    uploadWorkers: 1,
    excludes: [],
  };
}

/** A deterministic mix of folders, small files, big files and long names. */
function syntheticFiles(count: number): NewFile[] {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: count }, (_, i) => {
    const r = next();
    const size = r < 0.2
      ? 0
      : r < 0.9
      ? Math.floor(next() * 200_000)
      : Math.floor(next() * 5 * MiB);
    const name = i % 17 === 0 ? "n".repeat(120) : `f${i}`;
    return {
      path: `/src/d${i % 9}/${name}`,
      archivePath: `src/d${i % 9}/${name}`,
      type: r < 0.05 ? "directory" : "file",
      size: r < 0.05 ? 0 : size,
      mtimeMs: 0,
      mode: 0o644,
      linkTarget: null,
    } as NewFile;
  });
}

Deno.test("VolumeCounter counts the volumes and bytes planVolumes makes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-forecast-" });
  try {
    for (const volumeSize of [1 * MiB, 4 * MiB, 64 * MiB]) {
      const files = syntheticFiles(3000);
      const settings = settingsFor(volumeSize, dir);
      const catalog = Catalog.create(join(dir, `${volumeSize}.sqlite3`), settings, {
        recipients: [],
      });
      try {
        catalog.insertFiles(files);
        const planned = planVolumes(catalog.eachFile(), settings);
        const counter = new VolumeCounter(volumeSize);
        for (const file of files) counter.add(file.size, file.archivePath);
        const counted = counter.finish();
        assert.equal(counted.volumes, planned.length, `volume size ${volumeSize}`);
        assert.equal(counted.volumeBytes, planned.reduce((n, v) => n + v.plannedBytes, 0));
        assert.equal(
          counted.largestVolumeBytes,
          Math.max(...planned.map((v) => v.plannedBytes)),
        );
      } finally {
        catalog.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a forecast counts a real tree without writing anything", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-forecast-tree-" });
  try {
    const src = join(dir, "src");
    await Deno.mkdir(src);
    await makeTree(src, { smallFiles: 30 });
    await Deno.writeFile(join(src, "big.bin"), randomBytes(3 * MiB));
    const before = [...Deno.readDirSync(dir)].map((e) => e.name);
    const forecast = await forecastBackup({
      sourceDirs: [src],
      excludes: ["*.md"],
      skipPaths: [join(src, "hello.txt")],
      volumeSize: MiB,
      encrypt: true,
    });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), before);
    assert.equal(forecast.volumes, 2, "the big file gets a volume of its own");
    assert.ok(forecast.largestVolumeBytes > 3 * MiB);
    assert.equal(forecast.parts, 2);
    assert.ok(forecast.volumeBytes > forecast.fileBytes);
    assert.equal(forecast.problems, 0);
    // hello.txt is skipped and *.md excluded: neither counts.
    const all = await forecastBackup({
      sourceDirs: [src],
      excludes: [],
      skipPaths: [],
      volumeSize: MiB,
      encrypt: true,
    });
    assert.equal(all.entries, forecast.entries + 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--include patterns: plain paths take a folder and below, globs, and bare names", () => {
  const paths = [
    "home/me/photos",
    "home/me/photos/a.jpg",
    "home/me/photos/2020/b.JPG",
    "home/me/photosets/c.jpg",
    "home/me/docs/cv.pdf",
    "srv/photos/d.png",
  ];
  // Linux rules, on any system (case_include_test covers the case-insensitive ones).
  const pick = (...patterns: string[]) => paths.filter(compileIncludes(patterns, "linux"));
  assert.deepEqual(pick(), paths);
  assert.deepEqual(pick("/home/me/photos"), paths.slice(0, 3));
  assert.deepEqual(pick("home/me/photos/"), paths.slice(0, 3));
  assert.deepEqual(pick("home/me/photo"), []);
  assert.deepEqual(pick("home/*/photos/*.jpg"), ["home/me/photos/a.jpg"]);
  assert.deepEqual(pick("home/me/photos/**/*.[jJ][pP][gG]"), paths.slice(1, 3));
  assert.deepEqual(
    pick("home/*/docs"),
    ["home/me/docs/cv.pdf"],
    "a matching folder takes its files",
  );
  assert.deepEqual(pick("*.jpg"), ["home/me/photos/a.jpg", "home/me/photosets/c.jpg"]);
  assert.deepEqual(pick("photos"), [...paths.slice(0, 3), "srv/photos/d.png"]);
  assert.deepEqual(pick("C:\\Users\\me"), []);
  assert.deepEqual(["C/Users/me/x"].filter(compileIncludes(["C:\\Users\\me"], "linux")), [
    "C/Users/me/x",
  ]);
  assert.deepEqual(pick("/srv/photos", "/home/me/docs/cv.pdf"), [paths[4], paths[5]]);
});

Deno.test("selectFiles collects the volumes of matching files and skips deleted ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-select-" });
  try {
    const settings = settingsFor(MiB, dir);
    const catalog = Catalog.create(join(dir, "db.sqlite3"), settings, { recipients: [] });
    try {
      const file = (path: string, size: number): NewFile => ({
        path: `/${path}`,
        archivePath: path,
        type: "file",
        size,
        mtimeMs: 0,
        mode: 0o644,
        linkTarget: null,
      });
      catalog.insertFiles([
        file("a/1", 700_000),
        file("a/2", 700_000),
        file("b/3", 700_000),
        file("b/4", 10),
      ]);
      catalog.savePlan(planVolumes(catalog.eachFile(), settings));
      assert.equal(catalog.volumes().length, 3);
      const all = selectFiles(catalog, compileIncludes([]));
      assert.deepEqual({ ...all, volumeIds: [...all.volumeIds] }, {
        entries: 4,
        fileBytes: 2_100_010,
        volumeIds: [1, 2, 3],
      });
      const b = selectFiles(catalog, compileIncludes(["/b"]));
      assert.deepEqual([...b.volumeIds], [3]);
      assert.equal(b.fileBytes, 700_010);
      catalog.db.prepare("UPDATE files SET state = 'deleted' WHERE volume_id = 3").run();
      assert.equal(selectFiles(catalog, compileIncludes(["/b"])).entries, 0);
    } finally {
      catalog.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dollar amounts keep the digits that matter", () => {
  assert.equal(formatDollars(0), "$0.00");
  assert.equal(formatDollars(1234.567), "$1,234.57");
  assert.equal(formatDollars(0.25), "$0.25");
  assert.equal(formatDollars(0.00123), "$0.0012");
  assert.equal(formatDollars(0.00001), "<$0.0001");
});

Deno.test("tables pad columns and align numbers right", () => {
  assert.deepEqual(formatTable([["name", "n"], ["a", "10"], ["long", "2"]], [1]), [
    "name   n",
    "a     10",
    "long   2",
  ]);
});
