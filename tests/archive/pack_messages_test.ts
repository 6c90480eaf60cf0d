/** The compact forms sent to and from the pack worker give back what they were made of. */
import assert from "node:assert/strict";
import {
  appendHashes,
  hashColumns,
  recordColumns,
  recordsOf,
} from "../../lib/archive/pack_messages.ts";
import type { PackedFileHash, PackRecord } from "../../lib/archive/volume_tar.ts";

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
  assert.deepEqual(recordsOf(structuredClone(recordColumns(records))), records);
  assert.deepEqual(recordsOf(recordColumns([])), []);
  assert.deepEqual(recordsOf(recordColumns([records[3]])), [records[3]]);
});

Deno.test("content hashes survive their columns, appended after those already there", () => {
  const hex = (n: number) => n.toString(16).padStart(64, "0");
  const hashes: PackedFileHash[] = [1, 2, 2 ** 40].map((id) => ({ id, sha256: hex(id * 7) }));
  const into: PackedFileHash[] = [{ id: 0, sha256: hex(0) }];
  appendHashes(structuredClone(hashColumns(hashes)), into);
  assert.deepEqual(into, [{ id: 0, sha256: hex(0) }, ...hashes]);
  appendHashes(hashColumns([]), into);
  assert.equal(into.length, 4);
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
    assert.throws(() => recordsOf(recordColumns(records)), /holds a NUL character/);
  }
  // Empty strings are not NULs: an empty link target still comes back.
  const plain = [record(1, "/src/a", ""), record(2, "/src/b", null)];
  assert.deepEqual(recordsOf(recordColumns(plain)), plain);
});
