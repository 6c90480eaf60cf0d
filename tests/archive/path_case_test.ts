/** How paths are compared on each system (path_case.ts), whatever system runs the test. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { namesIgnoreCase, pathKey, realPathOf } from "../../lib/archive/path_case.ts";

Deno.test("Windows and macOS ignore case (and separators, normal form) in path keys; Linux not", () => {
  assert.equal(pathKey("z:\\TMP\\State", "windows"), pathKey("Z:/tmp/state", "windows"));
  assert.equal(pathKey("/Users/Me/Café", "darwin"), pathKey("/users/me/cafe\u0301", "darwin"));
  assert.notEqual(pathKey("/tmp/State", "linux"), pathKey("/tmp/state", "linux"));
  assert.deepEqual(["windows", "darwin", "linux"].map((os) => namesIgnoreCase(os as "linux")), [
    true,
    true,
    false,
  ]);
});

Deno.test("realPathOf resolves what exists and keeps the rest of a path not made yet", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "glacier-path-case-" }));
  try {
    await Deno.mkdir(join(root, "State"));
    const later = join(root, "State", "logs", "main.log");
    assert.equal(realPathOf(later), later);
    assert.equal(
      realPathOf(join(root, "State", "db.sqlite3-wal")),
      join(root, "State", "db.sqlite3-wal"),
    );
    if (namesIgnoreCase()) {
      // The case the file system keeps, or at least the same key.
      const other = join(root.toUpperCase(), "STATE", "logs", "main.log");
      assert.equal(pathKey(realPathOf(other)), pathKey(later));
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
