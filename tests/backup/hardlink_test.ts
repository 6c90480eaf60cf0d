/**
 * Hardlinks: a file with several names is stored once, its later names as TAR hardlinks that
 * `tar -x` recreates; a name whose first name is in an earlier volume is stored as a full copy.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { formatBytes } from "../../lib/archive/units.ts";
import { runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { backupToSandbox, makeSandbox } from "../../testing/sandbox.ts";
import { makeHardlinks } from "../../testing/tree.ts";
import { extractWithReferenceTools, sh } from "../../testing/volumes.ts";
import { skipOnWindows, where } from "../../testing/platform.ts";

const DATA_SIZE = 300_000;

function catalogFiles(stateDb: string) {
  const catalog = Catalog.open(stateDb);
  try {
    return { files: catalog.filesAfter(0, 1000), volumes: catalog.volumes() };
  } finally {
    catalog.close();
  }
}

Deno.test(
  where(skipOnWindows("glacier finds hardlinks by inode, which Deno does not report there"), {
    name: "a file with two more names is stored once, as TAR hardlinks that tar -x recreates",
    fn: async () => {
      const box = await makeSandbox();
      try {
        const [data, link1, link2] = await makeHardlinks(box.src, DATA_SIZE);
        const dry = await backupToSandbox(box, "--dry-run");
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, new RegExp(`\\(${formatBytes(DATA_SIZE)} of file data\\)`));
        const result = await backupToSandbox(box);
        assert.equal(result.code, 0, result.stderr);
        const stateDb = stateDbFrom(result);
        const { files, volumes } = catalogFiles(stateDb);
        const byPath = new Map(files.map((f) => [f.path, f]));
        assert.equal(byPath.get(data)?.type, "file");
        for (const link of [link1, link2]) {
          assert.equal(byPath.get(link)?.type, "hardlink");
          assert.equal(byPath.get(link)?.linkTarget, archivePath(data));
          assert.equal(byPath.get(link)?.size, 0);
        }
        assert.equal(volumes.length, 1);
        assert.ok(volumes[0].size! < 1.5 * DATA_SIZE, `one copy only: ${volumes[0].size} bytes`);

        const key = join(box.root, "key.txt");
        await Deno.writeTextFile(key, (await runCli(["key", "export", stateDb])).stdout);
        const volume = join(box.bucket, volumes[0].objectKey);
        const listing = await sh(`age -d -i '${key}' '${volume}' | zstd -d -q | tar -tv`);
        const hardlinks = listing.split("\n").filter((line) => line.startsWith("h"));
        assert.equal(hardlinks.length, 2, listing);
        for (const line of hardlinks) {
          assert.ok(line.endsWith(` link to ${archivePath(data)}`), line);
        }

        const dest = join(box.root, "extracted");
        await Deno.mkdir(dest);
        await extractWithReferenceTools(volume, dest, key);
        const inodes = [data, link1, link2].map((p) =>
          Deno.statSync(join(dest, archivePath(p))).ino
        );
        assert.equal(new Set(inodes).size, 1, `one file: ${inodes}`);

        const show = await runCli(["show", stateDb]);
        assert.ok(show.stdout.includes(`${archivePath(link2)} link to ${archivePath(data)}`));
        assert.match(show.stdout, /, 2 hardlinks$/m);
      } finally {
        await box.cleanup();
      }
    },
  }),
);

Deno.test(
  where(skipOnWindows("glacier finds hardlinks by inode, which Deno does not report there"), {
    name:
      "a name whose first name is in an earlier volume is stored as a full copy; later ones link to it",
    fn: async () => {
      const box = await makeSandbox();
      try {
        // Each name of a 1.5 MB file is past the 1 MiB target: link1 falls into a second volume.
        const [data, link1, link2] = await makeHardlinks(box.src, 1_500_000);
        const result = await backupToSandbox(box, "--volume-size", "1MiB", "--no-encrypt");
        assert.equal(result.code, 0, result.stderr);
        const stateDb = stateDbFrom(result);
        const { files, volumes } = catalogFiles(stateDb);
        const byPath = new Map(files.map((f) => [f.path, f]));
        assert.equal(volumes.length, 2);
        assert.equal(byPath.get(data)?.volumeId, 1);
        assert.deepEqual(
          [byPath.get(link1)?.type, byPath.get(link1)?.volumeId, byPath.get(link1)?.size],
          ["file", 2, 1_500_000],
        );
        assert.equal(byPath.get(link1)?.linkTarget, null);
        assert.equal(byPath.get(link2)?.type, "hardlink");
        assert.equal(byPath.get(link2)?.linkTarget, archivePath(link1));

        // The second volume extracts on its own.
        const dest = join(box.root, "extracted");
        await Deno.mkdir(dest);
        await extractWithReferenceTools(join(box.bucket, volumes[1].objectKey), dest);
        const [copy, link] = [link1, link2].map((p) => Deno.statSync(join(dest, archivePath(p))));
        assert.equal(copy.ino, link.ino);
        assert.deepEqual(
          await Deno.readFile(join(dest, archivePath(link2))),
          await Deno.readFile(data),
        );

        const folder = join(box.bucket, volumes[0].objectKey, "..");
        const verify = await runCli(["verify", stateDb, "--local", folder]);
        assert.equal(verify.code, 0, verify.stdout + verify.stderr);
        assert.match(verify.stdout + verify.stderr, /TAR structure/);
      } finally {
        await box.cleanup();
      }
    },
  }),
);
