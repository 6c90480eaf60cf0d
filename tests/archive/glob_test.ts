import assert from "node:assert/strict";
import { compileExcludes, globToRegExp } from "../../lib/archive/glob.ts";

Deno.test("a pattern without a slash matches an entry's own name anywhere", () => {
  const m = compileExcludes(["*.tmp", "node_modules"]);
  assert.equal(m.matches("/src/a/b/x.tmp", "a/b/x.tmp"), true);
  assert.equal(m.matches("/src/x.tmp.keep", "x.tmp.keep"), false);
  assert.equal(m.matches("/src/app/node_modules", "app/node_modules"), true);
  assert.equal(m.matches("/src/app/node_modules_x", "app/node_modules_x"), false);
});

Deno.test("a pattern with a slash matches the path under the source folder", () => {
  const m = compileExcludes(["cache/*.bin", "**/build/out"]);
  assert.equal(m.matches("/src/cache/a.bin", "cache/a.bin"), true);
  assert.equal(m.matches("/src/x/cache/a.bin", "x/cache/a.bin"), false);
  assert.equal(m.matches("/src/cache/sub/a.bin", "cache/sub/a.bin"), false);
  assert.equal(m.matches("/src/build/out", "build/out"), true);
  assert.equal(m.matches("/src/p/q/build/out", "p/q/build/out"), true);
});

Deno.test("an absolute pattern matches the absolute path", () => {
  const m = compileExcludes(["/home/*/secret"], "linux");
  assert.equal(m.matches("/home/me/secret", "secret"), true);
  assert.equal(m.matches("/srv/me/secret", "secret"), false);
});

Deno.test("? and character classes stay within one component", () => {
  assert.equal(globToRegExp("file?.[ch]").test("file1.c"), true);
  assert.equal(globToRegExp("file?.[ch]").test("file/.c"), false);
  assert.equal(globToRegExp("[!a]*").test("abc"), false);
  assert.equal(globToRegExp("[!a]*").test("bcd"), true);
  assert.equal(globToRegExp("a.b").test("axb"), false);
});

Deno.test("Windows: an absolute pattern is C:\\..., C:/... or \\... on any drive, in any case", () => {
  const m = compileExcludes(
    ["c:\\DATA\\cache", "C:/data/*.iso", "\\temp", "\\\\nas\\share\\old"],
    "windows",
  );
  assert.equal(m.matches("C:\\data\\cache", "cache"), true);
  assert.equal(m.matches("C:\\Data\\Cache", "Cache"), true);
  assert.equal(m.matches("C:\\data\\disk.ISO", "disk.ISO"), true);
  assert.equal(m.matches("D:\\data\\cache", "cache"), false);
  assert.equal(m.matches("C:\\data\\cache2", "cache2"), false);
  assert.equal(m.matches("E:\\Temp", "Temp"), true);
  assert.equal(m.matches("\\\\nas\\share\\Old", "Old"), true);
  assert.equal(m.matches("C:\\data\\keep.txt", "keep.txt"), false);
});

Deno.test("Windows and macOS: names and relative patterns ignore case; Linux does not", () => {
  for (const os of ["windows", "darwin"] as const) {
    const m = compileExcludes(["*.JPG", "Cache/*.bin"], os);
    assert.equal(m.matches("/src/a/photo.jpg", "a/photo.jpg"), true, os);
    assert.equal(m.matches("/src/cache/x.BIN", "cache/x.BIN"), true, os);
  }
  const linux = compileExcludes(["*.JPG", "Cache/*.bin"], "linux");
  assert.equal(linux.matches("/src/a/photo.jpg", "a/photo.jpg"), false);
  assert.equal(linux.matches("/src/Cache/x.bin", "Cache/x.bin"), true);
  assert.equal(linux.matches("/src/cache/x.bin", "cache/x.bin"), false);
  assert.equal(compileExcludes(["C:/data"], "linux").matches("C:/data", "data"), false);
});

Deno.test("macOS: a name typed in NFC excludes the same name stored in NFD", () => {
  const m = compileExcludes(["Café"], "darwin");
  assert.equal(m.matches("/src/cafe\u0301", "cafe\u0301"), true);
});
