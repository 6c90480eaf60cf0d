import assert from "node:assert/strict";
import { archivePath, ArchivePathError } from "../../lib/archive/archive_path.ts";

Deno.test("archivePath drops the leading '/' of POSIX paths", () => {
  for (const os of ["linux", "darwin"] as const) {
    assert.equal(archivePath("/home/me/a.txt", os), "home/me/a.txt");
    assert.equal(archivePath("/", os), "");
    assert.equal(archivePath("/home/me/", os), "home/me");
    assert.equal(archivePath("//home//me/./a.txt", os), "home/me/a.txt");
    assert.equal(archivePath("/home/me/../you", os), "home/you");
    assert.equal(archivePath("/../../etc", os), "etc", "never climbs above the root");
    assert.equal(archivePath("/home/Ünïcødé/日本語.txt", os), "home/Ünïcødé/日本語.txt");
    // A backslash is an ordinary file-name character on POSIX.
    assert.equal(archivePath("/tmp/a\\b", os), "tmp/a\\b");
  }
});

Deno.test("archivePath refuses relative POSIX paths", () => {
  for (const path of ["home/me", "", "./a", "../a", "C:\\x"]) {
    assert.throws(() => archivePath(path, "linux"), ArchivePathError, path);
  }
});

Deno.test("archivePath turns a Windows drive into a folder and '\\' into '/'", () => {
  assert.equal(archivePath("C:\\Users\\me\\a.txt", "windows"), "C/Users/me/a.txt");
  assert.equal(archivePath("d:/data/x.bin", "windows"), "d/data/x.bin");
  assert.equal(archivePath("C:\\", "windows"), "C");
  assert.equal(archivePath("C:", "windows"), "C");
  assert.equal(archivePath("C:\\Users\\..\\..\\x", "windows"), "C/x", "stays on its drive");
  assert.equal(archivePath("\\\\server\\share\\x", "windows"), "server/share/x");
  assert.equal(archivePath("\\\\?\\C:\\long\\path", "windows"), "C/long/path");
  assert.equal(archivePath("\\\\?\\UNC\\server\\share\\x", "windows"), "server/share/x");
});

Deno.test("archivePath refuses relative Windows paths", () => {
  for (const path of ["Users\\me", "C:Users\\me", "", ".\\a", "\\\\?\\relative"]) {
    assert.throws(() => archivePath(path, "windows"), ArchivePathError, path);
  }
});

Deno.test("archivePath uses the running OS by default", () => {
  const path = Deno.build.os === "windows" ? "C:\\tmp\\x" : "/tmp/x";
  assert.equal(archivePath(path), Deno.build.os === "windows" ? "C/tmp/x" : "tmp/x");
});
