/**
 * `--include` and `--exclude` ignore case on Windows and macOS, whose file systems do (drive
 * letter included), and not on Linux. A small tree of its own (no long paths), so that it runs on
 * Windows as it is.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { backupToSandbox, makeSandbox } from "../../testing/sandbox.ts";
import { runCli, stateDbFrom } from "../../testing/run_cli.ts";

Deno.test("--include in another case restores the folder on Windows and macOS, not on Linux", async () => {
  const box = await makeSandbox();
  try {
    await Deno.mkdir(join(box.src, "Photos"));
    await Deno.writeTextFile(join(box.src, "Photos", "Sea.JPG"), "the sea");
    await Deno.writeTextFile(join(box.src, "Photos", "notes.txt"), "notes");
    const made = await backupToSandbox(box, "--no-encrypt");
    assert.equal(made.code, 0, made.stderr);
    const src = await Deno.realPath(box.src);
    const dest = join(box.root, "restored");
    const typed = join(src, "photos").toUpperCase(); // C:\...\PHOTOS, /TMP/.../PHOTOS
    const result = await runCli(
      ["restore", stateDbFrom(made), "--to", dest, "--include", typed, "--exclude", "*.jpg"],
    );
    if (Deno.build.os === "linux") {
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /nothing in backup \S+ matches/);
      return;
    }
    assert.equal(result.code, 0, result.stderr);
    const photos = join(dest, src.replace(/^([A-Za-z]):/, "$1").replace(/^[/\\]/, ""), "Photos");
    assert.deepEqual([...Deno.readDirSync(photos)].map((e) => e.name), ["notes.txt"]);
  } finally {
    await box.cleanup();
  }
});
