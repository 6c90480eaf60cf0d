/**
 * Edge cases a careful user can run into: two backups with the same id in one bucket, volumes
 * built inside a source folder, a source given through a symlink, names that are not UTF-8.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { backupIdFor } from "../../lib/archive/layout.ts";
import { backupToSandbox, makeSandbox } from "../../testing/sandbox.ts";
import { assertKilled, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { diffTrees, makeTree } from "../../testing/tree.ts";
import { sh } from "../../testing/volumes.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needsSymlinks, skipOnWindows, where } from "../../testing/platform.ts";

function readCatalog<T>(stateDb: string, read: (catalog: Catalog) => T): T {
  const catalog = Catalog.open(stateDb);
  try {
    return read(catalog);
  } finally {
    catalog.close();
  }
}

Deno.test("a backup id already used in the bucket is not reused", async () => {
  const box = await makeSandbox();
  try {
    await makeTree(box.src);
    // Another machine's backups hold the ids of this second and the next few.
    const now = Date.now();
    const taken = [0, 1, 2, 3].map((s) => backupIdFor(new Date(now + s * 1000)));
    for (const id of taken) {
      await Deno.mkdir(join(box.bucket, id));
      await Deno.writeTextFile(join(box.bucket, id, "000001_backup.tar.zst.age"), `theirs ${id}`);
    }
    const result = await backupToSandbox(box);
    assert.equal(result.code, 0, result.stderr);
    const id = readCatalog(stateDbFrom(result), (c) => c.settings().backupId);
    assert.ok(!taken.includes(id), `${id} is one of ${taken.join(", ")}`);
    for (const other of taken) {
      const content = await Deno.readTextFile(join(box.bucket, other, "000001_backup.tar.zst.age"));
      assert.equal(content, `theirs ${other}`);
    }
  } finally {
    await box.cleanup();
  }
});

Deno.test("a volume key already taken by someone else is never overwritten", async () => {
  const box = await makeSandbox();
  try {
    await makeTree(box.src);
    // Kill after the volume is built, put a foreign object at its key, then resume.
    const killed = await runCli([
      "backup",
      "--src-dirs",
      box.src,
      "--bucket",
      `file://${box.bucket}`,
      "--state-dir",
      join(box.root, "state2"),
      join(box.root, "work2", "out.tar"),
    ], { env: { GLACIER_TEST_CRASH_AT: "after-volume-built" } });
    assertKilled(killed);
    const stateDb = stateDbFrom(killed);
    const volume = readCatalog(stateDb, (c) => c.volumes()[0]);
    const key = join(box.bucket, volume.objectKey);
    await Deno.mkdir(join(key, ".."), { recursive: true });
    await Deno.writeTextFile(key, "another backup's volume");
    const resumed = await runCli(["resume", stateDb]);
    assert.equal(resumed.code, 3, resumed.stderr);
    assert.match(resumed.stderr, /already exists .* not this backup's volume/);
    assert.equal(await Deno.readTextFile(key), "another backup's volume");
    assert.equal(readCatalog(stateDb, (c) => c.volume(volume.id).state), "built");
  } finally {
    await box.cleanup();
  }
});

Deno.test("OUTPUT_TAR inside a source folder leaves out only the volumes, not the folder", async () => {
  const box = await makeSandbox();
  try {
    await makeTree(box.src);
    await Deno.writeTextFile(join(box.src, "docs", "thesis.txt"), "four years of work");
    const result = await backupToSandbox(box, join(box.src, "docs", "out.tar"));
    assert.equal(result.code, 0, result.stderr);
    const paths = readCatalog(
      stateDbFrom(result),
      (c) => c.filesAfter(0, 10_000).map((f) => f.path),
    );
    assert.ok(paths.includes(join(box.src, "docs", "thesis.txt")), paths.join("\n"));
    assert.ok(!paths.some((p) => /\d{6}_out\.tar/.test(p)), "own volumes are not backed up");
  } finally {
    await box.cleanup();
  }
});

Deno.test(
  where(
    needsSymlinks(),
    "a source folder given through a symlink is backed up as the folder",
    async () => {
      const box = await makeSandbox();
      try {
        await makeTree(box.src);
        const link = join(box.root, "link-to-src");
        await Deno.symlink(box.src, link);
        const result = await runCli([
          "backup",
          "--src-dirs",
          link,
          "--bucket",
          `file://${box.bucket}`,
          "--state-dir",
          box.state,
          "--no-encrypt",
        ]);
        assert.equal(result.code, 0, result.stderr);
        const files = readCatalog(stateDbFrom(result), (c) => c.filesAfter(0, 10_000));
        assert.equal(files[0].path, box.src);
        assert.equal(files[0].type, "directory");
        assert.ok(files.some((f) => f.path === join(box.src, "hello.txt")));
      } finally {
        await box.cleanup();
      }
    },
  ),
);

Deno.test(
  where(
    skipOnWindows("its file names are UTF-16, never invalid UTF-8"),
    "a name that is not valid UTF-8 is reported, not silently lost",
    async () => {
      const box = await makeSandbox();
      try {
        await Deno.writeTextFile(join(box.src, "plain.txt"), "plain");
        await sh(`cd '${box.src}' && printf 'x' > "$(printf 'caf\\351.txt')"`);
        const result = await backupToSandbox(box);
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, /not valid UTF-8/);
      } finally {
        await box.cleanup();
      }
    },
  ),
);

Deno.test(
  where(
    needsSymlinks(),
    "a source given twice or inside another source is backed up once",
    async () => {
      const box = await makeSandbox();
      try {
        await makeTree(box.src);
        const sub = join(box.src, "docs");
        const link = join(box.root, "link-to-docs");
        await Deno.symlink(sub, link);
        // The same folder four ways: nested, with a trailing slash, through a symlink, relative.
        const sources = [box.src, sub, `${box.src}/`, link, "./src/docs"];
        const dry = await runCli(
          ["backup", "--src-dirs", ...sources, "--bucket", `file://${box.bucket}`, "--dry-run"],
          { cwd: box.root },
        );
        assert.equal(dry.code, 0, dry.stderr);
        const result = await runCli([
          "backup",
          "--src-dirs",
          ...sources,
          "--bucket",
          `file://${box.bucket}`,
          "--state-dir",
          box.state,
          "--no-encrypt",
        ], { cwd: box.root });
        assert.equal(result.code, 0, result.stderr);
        for (const output of [dry.stderr, result.stderr]) {
          assert.ok(
            output.includes(`note: ${sub} is inside ${box.src}: backing it up once`),
            output,
          );
          assert.ok(
            output.includes(`note: ${box.src} is given more than once: backing it up once`),
            output,
          );
        }
        const stateDb = stateDbFrom(result);
        const paths = readCatalog(stateDb, (c) => c.filesAfter(0, 10_000).map((f) => f.path));
        assert.equal(new Set(paths).size, paths.length, "no path is stored twice");
        const entries = Number(/would back up (\d+) entries/.exec(dry.stdout)?.[1]);
        assert.equal(entries, paths.length, "the dry run counts what the backup stores");
        const dest = join(box.root, "restored");
        const restored = await runCli(["restore", stateDb, "--to", dest, "--yes"]);
        assert.equal(restored.code, 0, restored.stderr);
        assert.deepEqual(await diffTrees(box.src, join(dest, archivePath(box.src))), []);
      } finally {
        await box.cleanup();
      }
    },
  ),
);

/** `path` spelled another way that names the same folder: other case on Windows and macOS. */
async function otherSpelling(box: { root: string; src: string }, path: string): Promise<string> {
  if (Deno.build.os === "windows" || Deno.build.os === "darwin") return path.toUpperCase();
  const link = join(box.root, "src-link"); // Linux: through a symlink
  await Deno.symlink(box.src, link);
  return join(link, path.slice(box.src.length));
}

Deno.test("the state folder inside a source is left out, however --state-dir spells it", async () => {
  const box = await makeSandbox();
  try {
    await Deno.writeTextFile(join(box.src, "hello.txt"), "hello");
    const result = await runCli([
      "backup",
      "--src-dirs",
      box.src,
      "--bucket",
      `file://${box.bucket}`,
      "--state-dir",
      await otherSpelling(box, join(box.src, "state")),
      "--no-encrypt",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const files = readCatalog(stateDbFrom(result), (c) => c.filesAfter(0, 100));
    const paths = files.map((f) => f.path);
    const src = await Deno.realPath(box.src);
    assert.ok(paths.includes(join(src, "hello.txt")), paths.join("\n"));
    const stateFolder = join(src, "state").toLowerCase();
    const inState = files.filter((f) =>
      f.type !== "directory" && f.path.toLowerCase().startsWith(stateFolder)
    ).map((f) => f.path);
    assert.deepEqual(inState, [], "the live state database, its lock and log are not backed up");
  } finally {
    await box.cleanup();
  }
});

Deno.test("an absolute --exclude names its folder in the spelling of the system", async () => {
  const box = await makeSandbox();
  try {
    await Deno.mkdir(join(box.src, "Cache"));
    await Deno.writeTextFile(join(box.src, "Cache", "blob.bin"), "leave me out");
    await Deno.writeTextFile(join(box.src, "Photo.JPG"), "a photo");
    await Deno.writeTextFile(join(box.src, "keep.txt"), "keep me");
    const ignoreCase = Deno.build.os === "windows" || Deno.build.os === "darwin";
    const cache = join(await Deno.realPath(box.src), "Cache");
    const result = await backupToSandbox(
      box,
      "--no-encrypt",
      "--exclude",
      ignoreCase ? cache.toLowerCase() : cache,
      "--exclude",
      "*.jpg",
    );
    assert.equal(result.code, 0, result.stderr);
    const names = readCatalog(stateDbFrom(result), (c) => c.filesAfter(0, 100).map((f) => f.path))
      .map((p) => p.slice(p.lastIndexOf(Deno.build.os === "windows" ? "\\" : "/") + 1));
    assert.deepEqual(
      names.filter((n) => n !== "src").sort(),
      ignoreCase ? ["keep.txt"] : ["Photo.JPG", "keep.txt"],
    );
  } finally {
    await box.cleanup();
  }
});
