/**
 * `extractVolume` driven directly on a built (encrypted, zstd) volume: it writes the wanted
 * entries and nothing else, reports what it wrote, takes entries an interrupted run left in place
 * as done, and leaves an existing different file alone with a problem report.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildVolume } from "../../lib/backup/build_volume.ts";
import { generateIdentity, recipientFromIdentity } from "../../lib/crypto/age.ts";
import { type EntryProblem, extractVolume } from "../../lib/restore/extract_volume.ts";
import { RestoreWriter, STAGING_DIR_NAME } from "../../lib/restore/safe_writer.ts";
import { compileSelection } from "../../lib/restore/selection.ts";
import { makeSandbox } from "../../testing/sandbox.ts";
import { plannedCatalog } from "../backup/helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needsSymlinks, where } from "../../testing/platform.ts";

/** Every path under `root` (relative, sorted), the writer's staging folder left out. */
async function treeOf(root: string, under = ""): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of Deno.readDir(join(root, under))) {
    const path = under ? `${under}/${entry.name}` : entry.name;
    if (path === STAGING_DIR_NAME) continue;
    paths.push(path);
    if (entry.isDirectory) paths.push(...await treeOf(root, path));
  }
  return paths.sort();
}

Deno.test(
  where(
    needsSymlinks(),
    "extractVolume writes only the wanted entries, and a rerun takes them as done",
    async () => {
      const box = await makeSandbox("glacier-extract-");
      const identity = generateIdentity();
      await Deno.mkdir(join(box.src, "photos", "2019"), { recursive: true });
      await Deno.mkdir(join(box.src, "mail"));
      await Deno.writeTextFile(join(box.src, "photos", "2019", "a.jpg"), "picture a");
      await Deno.writeTextFile(join(box.src, "photos", "2019", "b.jpg"), "picture bb");
      await Deno.writeTextFile(join(box.src, "photos", "index.txt"), "index");
      await Deno.writeTextFile(join(box.src, "mail", "inbox"), "secret mail");
      await Deno.symlink("2019/a.jpg", join(box.src, "photos", "latest"));
      const catalog = await plannedCatalog(box.root, box.src, {
        workDir: box.root,
        compression: "zstd",
      }, { identity, recipients: [recipientFromIdentity(identity)] });
      try {
        assert.equal(catalog.volumes().length, 1);
        const volume = catalog.volume(1);
        const { path } = await buildVolume(catalog, catalog.settings(), volume, [
          recipientFromIdentity(identity),
        ]);
        const base = archivePath(box.src);
        const dest = join(box.root, "restored");
        const extract = async (acceptIdentical: boolean) => {
          const problems: EntryProblem[] = [];
          const report = await extractVolume({
            catalog,
            volume: catalog.volume(1),
            path,
            compression: "zstd",
            encrypted: true,
            identities: [identity],
            selection: compileSelection([`${box.src}/photos/2019`, "**/latest"], ["*.txt"]),
            writer: await RestoreWriter.open(dest, { overwrite: false }),
            acceptIdentical,
            onProblem: (problem) => problems.push(problem),
          });
          return { report, problems };
        };

        const first = await extract(false);
        assert.deepEqual(first.problems, []);
        // Folders above a wanted entry are made as needed; nothing else of the volume is written.
        assert.deepEqual(
          await treeOf(dest),
          [
            ...base.split("/").map((_, i, all) => all.slice(0, i + 1).join("/")),
            `${base}/photos`,
            `${base}/photos/2019`,
            `${base}/photos/2019/a.jpg`,
            `${base}/photos/2019/b.jpg`,
            `${base}/photos/latest`,
          ].sort(),
        );
        assert.equal(await Deno.readTextFile(join(dest, base, "photos/2019/b.jpg")), "picture bb");
        assert.equal(await Deno.readLink(join(dest, base, "photos/latest")), "2019/a.jpg");
        assert.deepEqual(first.report, { written: 4, bytes: 19, identical: 0 });

        // A rerun of the same restore finds the files in place and writes none of them again.
        const again = await extract(true);
        assert.deepEqual(again.problems, []);
        assert.equal(again.report.identical, 3);
        assert.equal(again.report.bytes, 0);

        // Without acceptIdentical, a file already there (here changed) is left alone and reported.
        await Deno.writeTextFile(join(dest, base, "photos/2019/a.jpg"), "mine");
        const third = await extract(false);
        assert.equal(await Deno.readTextFile(join(dest, base, "photos/2019/a.jpg")), "mine");
        assert.deepEqual(
          third.problems.map((p) => [p.kind, p.path]).sort(),
          [
            ["exists", `${base}/photos/2019/a.jpg`],
            ["exists", `${base}/photos/2019/b.jpg`],
            ["exists", `${base}/photos/latest`],
          ],
        );
      } finally {
        catalog.close();
        await box.cleanup();
      }
    },
  ),
);
