/**
 * Symlinks on Windows: created as a file or folder link as the catalog says, and when this user
 * may not create symlinks at all, skipped with one warning that says why and how to allow it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { symlinkType } from "../../lib/restore/symlink_type.ts";
import { RestoreTally, skippedLinksWarning } from "../../lib/restore/tally.ts";
import type { Catalog } from "../../lib/catalog/catalog.ts";
import { compileSelection } from "../../lib/restore/selection.ts";
import { RestoreWriter } from "../../lib/restore/safe_writer.ts";
import { recordingReporter } from "../../testing/recording_reporter.ts";
import { needsSymlinks, where } from "../../testing/platform.ts";

/** A catalog that knows the types of `entries` (source path to type). */
function catalogOf(entries: Record<string, string>): Pick<Catalog, "entryTypeAt"> {
  return { entryTypeAt: (path) => entries[path] };
}

Deno.test("symlinkType asks for a folder link when the target is a folder of the backup", () => {
  const linux = catalogOf({ "/data/photos": "directory", "/data/a.txt": "file" });
  const link = (path: string, linkTarget: string) => ({ path, linkTarget });
  assert.equal(symlinkType(linux, link("/data/latest", "photos"), "windows"), "dir");
  assert.equal(symlinkType(linux, link("/data/sub/up", "../photos/"), "windows"), "dir");
  assert.equal(symlinkType(linux, link("/data/x", "/data/photos"), "windows"), "dir");
  assert.equal(symlinkType(linux, link("/data/x", "a.txt"), "windows"), "file");
  assert.equal(symlinkType(linux, link("/data/x", "/etc/elsewhere"), "windows"), "file");
  const windows = catalogOf({ "C:\\data\\photos": "directory" });
  assert.equal(symlinkType(windows, link("C:\\data\\latest", "photos"), "windows"), "dir");
  assert.equal(symlinkType(windows, link("C:\\data\\s\\up", "..\\photos"), "windows"), "dir");
  assert.equal(symlinkType(windows, link("C:\\data\\x", "nothing"), "windows"), "file");
  // Linux and macOS need no type.
  assert.equal(symlinkType(linux, link("/data/latest", "photos"), "linux"), undefined);
  assert.equal(symlinkType(linux, link("/data/latest", "photos"), "darwin"), undefined);
});

Deno.test("symlinks that cannot be created give one warning with the count, each in the log", () => {
  const log = recordingReporter();
  const tally = new RestoreTally({} as Catalog, compileSelection([], []), log);
  for (const name of ["a", "b", "c"]) {
    tally.problem({ path: `d/${name}`, kind: "nolink", message: "symlink not restored" });
  }
  assert.deepEqual(log.lines, []);
  assert.equal(tally.skippedLinks, 3);
  assert.equal(tally.outcome(), "done-with-warnings");
  const warning = skippedLinksWarning(tally.skippedLinks) ?? "";
  assert.match(warning, /^3 symlinks were not restored/);
  assert.match(warning, /Developer Mode/);
  assert.match(warning, /administrator/);
  assert.equal(skippedLinksWarning(0), undefined);
  assert.match(skippedLinksWarning(1) ?? "", /^1 symlink was not restored/);
});

Deno.test(where(needsSymlinks(), {
  name: "a restored symlink to a folder is a folder link, to a file a file link",
  fn: async () => {
    const dest = await Deno.makeTempDir({ prefix: "glacier-links-" });
    try {
      const writer = await RestoreWriter.open(dest, { overwrite: false });
      assert.deepEqual(await writer.directory("d/photos"), { kind: "written" });
      await writer.file("d/a.txt", ReadableStream.from([new Uint8Array([1])]), {
        size: 1,
        mode: 0o644,
        mtime: 0,
      });
      const toFolder = writer.symlink("d/latest", "photos", {}, undefined, "dir");
      const toFile = writer.symlink("d/link", "a.txt", {}, undefined, "file");
      if (toFolder.kind === "nolink") return; // Windows without Developer Mode: see the test above
      assert.deepEqual([toFolder, toFile], [{ kind: "written" }, { kind: "written" }]);
      assert.equal((await Deno.stat(join(dest, "d", "latest"))).isDirectory, true);
      assert.equal((await Deno.lstat(join(dest, "d", "latest"))).isSymlink, true);
      assert.equal((await Deno.stat(join(dest, "d", "link"))).isFile, true);
    } finally {
      await Deno.remove(dest, { recursive: true });
    }
  },
}));
