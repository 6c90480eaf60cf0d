/**
 * The modes a backup records in the catalog and in the TAR headers, on the OS the test runs on:
 * the files' own on Linux and macOS; on Windows (whose modes Deno makes up as 0666) 0755 folders,
 * 0644 files and 0444 read-only files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { volumeTar } from "../../lib/archive/volume_tar.ts";
import { readTar } from "../../lib/archive/tar_reader.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { volumeRecords } from "../../lib/backup/build_volume.ts";
import { plannedCatalog } from "./helpers.ts";

const isWindows = Deno.build.os === "windows";

Deno.test("a backup stores folders, files and read-only files with usable modes", async () => {
  const root = await Deno.makeTempDir();
  const src = join(root, "src");
  await Deno.mkdir(join(src, "sub"), { recursive: true });
  await Deno.writeTextFile(join(src, "sub", "file.txt"), "data");
  await Deno.writeTextFile(join(src, "sub", "read-only.txt"), "fixed");
  if (!isWindows) {
    await Deno.chmod(join(src, "sub"), 0o750);
    await Deno.chmod(join(src, "sub", "file.txt"), 0o640);
  }
  await Deno.chmod(join(src, "sub", "read-only.txt"), 0o444);
  const expected = isWindows
    ? { sub: 0o755, "sub/file.txt": 0o644, "sub/read-only.txt": 0o444 }
    : { sub: 0o750, "sub/file.txt": 0o640, "sub/read-only.txt": 0o444 };
  const catalog = await plannedCatalog(root, src, { volumeSize: 1024 ** 3 });
  try {
    const base = archivePath(src);
    const inCatalog: Record<string, number> = {};
    for (const file of catalog.eachFile()) {
      if (file.archivePath !== base) inCatalog[file.archivePath.slice(base.length + 1)] = file.mode;
    }
    assert.deepEqual(inCatalog, expected);
    const inTar: Record<string, number> = {};
    for await (const { entry, body } of readTar(volumeTar(volumeRecords(catalog, 1)).stream)) {
      await body.cancel();
      if (entry.path !== base) inTar[entry.path.slice(base.length + 1)] = entry.mode;
    }
    assert.deepEqual(inTar, expected);
  } finally {
    catalog.close();
    await Deno.chmod(join(src, "sub", "read-only.txt"), 0o644);
    await Deno.remove(root, { recursive: true });
  }
});
