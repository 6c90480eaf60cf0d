/** The modes a backup stores: the file's own on Linux and macOS, sane defaults on Windows. */
import assert from "node:assert/strict";
import { storedMode } from "../../lib/archive/file_mode.ts";

Deno.test("storedMode keeps the POSIX mode bits, setuid and sticky included", () => {
  for (const os of ["linux", "darwin"] as const) {
    assert.equal(storedMode(0o100640, "file", os), 0o640);
    assert.equal(storedMode(0o40700, "directory", os), 0o700);
    assert.equal(storedMode(0o104755, "file", os), 0o4755);
    assert.equal(storedMode(0o41777, "directory", os), 0o1777);
    assert.equal(storedMode(null, "directory", os), 0o755);
    assert.equal(storedMode(null, "file", os), 0o644);
  }
});

Deno.test("storedMode on Windows stores 0755 folders, 0644 files, 0444 read-only files", () => {
  // What Deno reports on Windows: 0666 for everything, 0444 for a read-only file.
  assert.equal(storedMode(0o666, "directory", "windows"), 0o755);
  assert.equal(storedMode(0o666, "file", "windows"), 0o644);
  assert.equal(storedMode(0o444, "file", "windows"), 0o444);
  assert.equal(storedMode(0o666, "symlink", "windows"), 0o777);
  assert.equal(storedMode(null, "file", "windows"), 0o644);
  // A read-only folder still has to be enterable once extracted.
  assert.equal(storedMode(0o444, "directory", "windows"), 0o755);
});
