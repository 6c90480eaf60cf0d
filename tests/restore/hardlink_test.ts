/**
 * Restoring hardlinks: the names of one file come back as one file, and a selection that wants a
 * later name but not the first still gets the content.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { checkedStateDb } from "../manage/helpers.ts";
import { runCli } from "../../testing/run_cli.ts";
import { backupToSandbox, makeSandbox } from "../../testing/sandbox.ts";
import { makeHardlinks } from "../../testing/tree.ts";
import { skipOnWindows, where } from "../../testing/platform.ts";

function inode(path: string): number | null {
  return Deno.statSync(path).ino;
}

Deno.test(
  where(skipOnWindows("glacier finds hardlinks by inode, which Deno does not report there"), {
    name:
      "restore brings a file's three names back as one file, and later names alone with content",
    fn: async () => {
      const box = await makeSandbox();
      try {
        const [data, link1, link2] = await makeHardlinks(box.src, 200_000);
        const content = await Deno.readFile(data);
        const stateDb = checkedStateDb(await backupToSandbox(box));
        const under = (dest: string, path: string) => join(dest, archivePath(path));

        const all = join(box.root, "all");
        const full = await runCli(["restore", stateDb, "--to", all, "--yes"]);
        assert.equal(full.code, 0, full.stderr);
        assert.deepEqual(
          [data, link1, link2].map((p) => inode(under(all, p))),
          Array(3).fill(inode(under(all, data))),
        );
        assert.equal(Deno.statSync(under(all, data)).nlink, 3);
        assert.deepEqual(await Deno.readFile(under(all, link2)), content);

        // Only a later name: it gets the content; the first name is not written.
        const one = join(box.root, "one");
        const partial = await runCli([
          "restore",
          stateDb,
          "--to",
          one,
          "--yes",
          "--include",
          link2,
        ]);
        assert.equal(partial.code, 0, partial.stderr);
        assert.deepEqual(await Deno.readFile(under(one, link2)), content);
        assert.throws(() => Deno.statSync(under(one, data)), Deno.errors.NotFound);

        // Both later names without the first: the content once, under both names.
        const two = join(box.root, "two");
        const both = await runCli([
          "restore",
          stateDb,
          "--to",
          two,
          "--yes",
          "--include",
          link1,
          "--include",
          link2,
        ]);
        assert.equal(both.code, 0, both.stderr);
        assert.equal(inode(under(two, link1)), inode(under(two, link2)));
        assert.deepEqual(await Deno.readFile(under(two, link1)), content);
        assert.throws(() => Deno.statSync(under(two, data)), Deno.errors.NotFound);

        // A rerun finds the links in place; with --overwrite it makes them again.
        const again = await runCli(["restore", stateDb, "--to", all, "--yes", "--overwrite"]);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(Deno.statSync(under(all, data)).nlink, 3);
      } finally {
        await box.cleanup();
      }
    },
  }),
);
