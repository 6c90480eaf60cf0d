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
  const m = compileExcludes(["/home/*/secret"]);
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
