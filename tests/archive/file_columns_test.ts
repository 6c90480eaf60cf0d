/** File entries sent between threads as columns give back what they were made of. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileColumns, packRecordsOf, scannedFilesOf } from "../../lib/archive/file_columns.ts";
import { type NewFile, scanSources } from "../../lib/archive/scan.ts";
import type { PackRecord } from "../../lib/archive/volume_tar.ts";
import { withTempFolder } from "../../testing/sandbox.ts";

Deno.test("records survive their columns: every type, link targets or none, any text", () => {
  const records: PackRecord[] = [
    {
      id: 1,
      path: "/src",
      archivePath: "src",
      type: "directory",
      size: 0,
      mtimeMs: 1.5e12,
      mode: 0o755,
      linkTarget: null,
      fileId: "2049:7",
    },
    {
      id: 2,
      path: "/src/Ünïcødé 日本.txt",
      archivePath: "src/Ünïcødé 日本.txt",
      type: "file",
      size: 2 ** 40 + 3,
      mtimeMs: 1700000000123.25,
      mode: 0o4755,
      linkTarget: null,
      fileId: `${2 ** 40}:${2 ** 52 + 1}`,
    },
    {
      id: 2 ** 40,
      path: "/src/link",
      archivePath: "src/link",
      type: "symlink",
      size: 0,
      mtimeMs: -1000,
      mode: 0o777,
      linkTarget: "../elsewhere\nwith a line break",
      fileId: null,
    },
    {
      id: 4,
      path: "/src/second",
      archivePath: "src/second",
      type: "hardlink",
      size: 9,
      mtimeMs: 0,
      mode: 0o644,
      linkTarget: "",
      fileId: "1:1",
    },
    {
      id: 5,
      path: "",
      archivePath: "",
      type: "file",
      size: 0,
      mtimeMs: 1,
      mode: 0,
      linkTarget: null,
      fileId: null,
    },
  ];
  assert.deepEqual(packRecordsOf(structuredClone(fileColumns(records))), records);
  assert.deepEqual(packRecordsOf(fileColumns([])), []);
  assert.deepEqual(packRecordsOf(fileColumns([records[3]])), [records[3]]);
});

Deno.test("scanned files survive their columns: a real scan of every kind, and what the OS leaves unknown", async () => {
  await withTempFolder("glacier-columns-", async (root) => {
    await Deno.mkdir(join(root, "sub"));
    await Deno.writeTextFile(join(root, "sub", "a.txt"), "hello");
    await Deno.writeTextFile(join(root, "Ünïcødé 日本"), "x".repeat(1000));
    if (Deno.build.os !== "windows") {
      await Deno.link(join(root, "sub", "a.txt"), join(root, "z-second-name"));
      await Deno.symlink("sub/a.txt", join(root, "link"));
    }
    const scanned: NewFile[] = [];
    await scanSources({ sourceDirs: [root], excludes: [], skipPaths: [] }, {
      addFiles: (files) => scanned.push(...files),
      addProblem: (problem) => assert.fail(problem.message),
    });
    assert.ok(scanned.length >= 4);
    assert.deepEqual(scannedFilesOf(structuredClone(fileColumns(scanned))), scanned);
  });
  const unknown: NewFile = {
    path: "/x",
    archivePath: "x",
    type: "file",
    size: 1,
    mtimeMs: 0,
    mode: 0o600,
    linkTarget: null,
    ctimeMs: null,
    fileId: null,
  };
  const known = { ...unknown, ctimeMs: -1.5, fileId: "1:2" };
  assert.deepEqual(scannedFilesOf(fileColumns([unknown, known])), [unknown, known]);
  assert.deepEqual(scannedFilesOf(fileColumns([])), []);
});

Deno.test("a path, link target or file id with a NUL in it is refused, not shifted onto the next record", () => {
  const record = (id: number, path: string, linkTarget: string | null): PackRecord => ({
    id,
    path,
    archivePath: path.slice(1),
    type: linkTarget === null ? "file" : "symlink",
    size: 0,
    mtimeMs: 0,
    mode: 0o644,
    linkTarget,
    fileId: `2049:${id}`,
  });
  const forged = [
    [record(1, "/src/a\0/etc/shadow", null), record(2, "/src/b", null)],
    [record(1, "/src/a", "x\0y"), record(2, "/src/b", "z")],
    [record(1, "/src/a", null), { ...record(2, "/src/b", null), archivePath: "src/b\0c" }],
    [{ ...record(1, "/src/a", null), fileId: "2049:1\0" }, record(2, "/src/b", null)],
  ];
  for (const records of forged) {
    assert.throws(() => packRecordsOf(fileColumns(records)), /holds a NUL character/);
    assert.throws(() => scannedFilesOf(fileColumns(records)), /holds a NUL character/);
  }
  // Empty strings are not NULs: an empty link target still comes back.
  const plain = [record(1, "/src/a", ""), record(2, "/src/b", null)];
  assert.deepEqual(packRecordsOf(fileColumns(plain)), plain);
});
