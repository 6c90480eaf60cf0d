/**
 * `extractVolume` driven directly on a built (encrypted, zstd) volume: it writes the wanted
 * entries and nothing else, reports what it wrote, takes entries an interrupted run left in place
 * as done, and leaves an existing different file alone with a problem report.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildVolume } from "../../lib/backup/build_volume.ts";
import { generateIdentity, recipientFromIdentity } from "../../lib/crypto/age.ts";
import {
  type EntryProblem,
  extractVolume,
  HELD_ENTRIES,
  placesOnWorker,
} from "../../lib/restore/extract_volume.ts";
import { RestoreWriter, STAGING_DIR_NAME } from "../../lib/restore/safe_writer.ts";
import { compileSelection } from "../../lib/restore/selection.ts";
import { makeSandbox } from "../../testing/sandbox.ts";
import { plannedCatalog } from "../backup/helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needsSymlinks, where } from "../../testing/platform.ts";
import { placersRunning } from "../../lib/restore/small_file_placer.ts";

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

/** A volume of `count` small files in folders of 100, built and planned in `box`. */
async function volumeOfSmallFiles(
  box: { root: string; src: string },
  count: number,
  more: () => Promise<void> = async () => {},
) {
  const identity = generateIdentity();
  for (let i = 0; i < count; i++) {
    const folder = join(box.src, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) await Deno.mkdir(folder);
    await Deno.writeTextFile(join(folder, `f${i}`), `file ${i}`);
  }
  await more();
  const catalog = await plannedCatalog(box.root, box.src, {
    workDir: box.root,
    compression: "zstd",
  }, { identity, recipients: [recipientFromIdentity(identity)] });
  const { path } = await buildVolume(catalog, catalog.settings(), catalog.volume(1), [
    recipientFromIdentity(identity),
  ]);
  return { catalog, identity, path };
}

Deno.test(
  "extractVolume holds every entry while the volume's check is not over: content staged, no name given",
  async () => {
    const box = await makeSandbox("glacier-extract-held-");
    const count = HELD_ENTRIES + 150;
    const { catalog, identity, path } = await volumeOfSmallFiles(box, count);
    try {
      const extract = (dest: string, verified: Promise<void>) =>
        RestoreWriter.open(dest, { overwrite: false }).then((writer) =>
          extractVolume({
            catalog,
            volume: catalog.volume(1),
            path,
            compression: "zstd",
            encrypted: true,
            identities: [identity],
            selection: compileSelection([], []),
            writer,
            acceptIdentical: false,
            onProblem: (problem) => assert.fail(`${problem.path}: ${problem.message}`),
            verified,
          })
        );
      /** Waits until the staging folder holds `parts` part files (the extraction waits there). */
      const untilStaged = async (dest: string, parts: number) => {
        for (let i = 0; i < 500; i++) {
          const staged = await Array.fromAsync(Deno.readDir(join(dest, STAGING_DIR_NAME)))
            .then((entries) => entries.length, () => 0);
          if (staged >= parts) return staged;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.fail(`never staged ${parts} files`);
      };
      const base = archivePath(box.src);

      // Passed: nothing has a name until the check is over, then everything has.
      const passing = join(box.root, "passing");
      let pass: () => void = () => {};
      const passed = extract(passing, new Promise<void>((resolve) => pass = resolve));
      // The extraction stops at HELD_ENTRIES held entries (files and their folders).
      const staged = await untilStaged(passing, HELD_ENTRIES - 100);
      assert.ok(staged <= HELD_ENTRIES, `${staged} staged`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok([...Deno.readDirSync(join(passing, STAGING_DIR_NAME))].length <= HELD_ENTRIES);
      assert.deepEqual(await treeOf(passing), [], "nothing under the destination yet");
      pass();
      const report = await passed;
      assert.equal(report.written, count + Math.ceil(count / 100) + 1);
      for (const i of [0, HELD_ENTRIES - 1, HELD_ENTRIES, count - 1]) {
        const file = join(passing, base, `d${Math.floor(i / 100)}`, `f${i}`);
        assert.equal(await Deno.readTextFile(file), `file ${i}`);
      }
      assert.deepEqual([...Deno.readDirSync(join(passing, STAGING_DIR_NAME))], []);

      // Refused: the extraction fails with the check's error, and leaves nothing, not even a
      // part file.
      const refusedDest = join(box.root, "refused");
      let refuse: (error: Error) => void = () => {};
      const refused = extract(refusedDest, new Promise<void>((_, reject) => refuse = reject));
      await untilStaged(refusedDest, 100);
      refuse(new Error("the volume is not the catalog's"));
      await assert.rejects(refused, /not the catalog's/);
      assert.deepEqual(await treeOf(refusedDest), []);
      assert.deepEqual([...Deno.readDirSync(join(refusedDest, STAGING_DIR_NAME))], []);
    } finally {
      catalog.close();
      await box.cleanup();
    }
  },
);

Deno.test("extractVolume places a volume's many small files on a worker, with the same outcomes", async () => {
  const box = await makeSandbox("glacier-extract-many-");
  const count = 1200;
  // Hard links among them: each must find its file in place, whichever thread placed it.
  await Deno.mkdir(join(box.src, "links"));
  const { catalog, identity, path } = await (async () => {
    const made = await volumeOfSmallFiles(box, count, async () => {
      for (const i of [5, 700, 1199]) {
        await Deno.link(
          join(box.src, `d${Math.floor(i / 100)}`, `f${i}`),
          join(box.src, "links", `l${i}`),
        );
      }
    });
    return made;
  })();
  // Recorded as a volume of 10,000 entries (`placesOnWorker`): its small files go
  // to the placing worker. (The id range only chooses the thread.)
  const recorded = catalog.volume(1);
  const manySmall = { ...recorded, lastFileId: recorded.firstFileId + 9_999 };
  assert.ok(placesOnWorker(manySmall) && !placesOnWorker(recorded));
  // Whatever the size of its other files: the decoder would wait for this thread's small ones.
  assert.ok(placesOnWorker({ ...manySmall, plannedBytes: 10_000 * 100_000 }));
  try {
    const extract = async (dest = join(box.root, "restored"), volume = manySmall) => {
      const problems: EntryProblem[] = [];
      const report = await extractVolume({
        catalog,
        volume,
        path,
        compression: "zstd",
        encrypted: true,
        identities: [identity],
        selection: compileSelection([], []),
        writer: await RestoreWriter.open(dest, { overwrite: false }),
        acceptIdentical: false,
        onProblem: (problem) => problems.push(problem),
      });
      return { report, problems };
    };
    const dest = join(box.root, "restored");
    let placing = 0;
    const watch = setInterval(() => placing = Math.max(placing, placersRunning()), 1);
    const first = await extract();
    clearInterval(watch);
    assert.equal(placing, 1, "the placer ran");
    assert.deepEqual(first.problems, []);
    assert.equal(placersRunning(), 0, "the placer stops with its volume");
    const base = archivePath(box.src);
    for (let i = 0; i < count; i++) {
      const file = join(dest, base, `d${Math.floor(i / 100)}`, `f${i}`);
      assert.equal(await Deno.readTextFile(file), `file ${i}`);
    }
    for (const i of [5, 700, 1199]) {
      const link = await Deno.stat(join(dest, base, "links", `l${i}`));
      assert.equal(
        link.ino,
        (await Deno.stat(join(dest, base, `d${Math.floor(i / 100)}`, `f${i}`))).ino,
      );
    }
    assert.equal(first.report.written, count + 3 + Math.ceil(count / 100) + 2);
    assert.deepEqual([...Deno.readDirSync(join(dest, STAGING_DIR_NAME))], []);

    // Two volumes extracted at once share one placer at most; the other writes its own files.
    let most = 0;
    const sampler = setInterval(() => most = Math.max(most, placersRunning()), 1);
    const both = await Promise.all([extract(join(box.root, "a")), extract(join(box.root, "b"))]);
    clearInterval(sampler);
    assert.ok(most <= 1, `${most} placers at once`);
    for (const [i, other] of both.entries()) {
      assert.deepEqual(other.problems, []);
      assert.deepEqual(other.report, first.report);
      const file = join(box.root, i === 0 ? "a" : "b", base, "d11", "f1150");
      assert.equal(await Deno.readTextFile(file), "file 1150");
    }

    // A volume of fewer entries (as recorded: 1,200) is not worth a worker: the same files, all
    // written on this thread.
    placing = 0;
    const own = setInterval(() => placing = Math.max(placing, placersRunning()), 1);
    const alone = await extract(join(box.root, "alone"), recorded);
    clearInterval(own);
    assert.equal(placing, 0, "no placer for a volume of 1,200 entries");
    assert.deepEqual(alone.problems, []);
    assert.deepEqual(alone.report, first.report);
    assert.equal(
      await Deno.readTextFile(join(box.root, "alone", base, "d11", "f1150")),
      "file 1150",
    );

    // Again, into the same folders: every file is there already, and each is reported, the
    // ones placed on the worker too; nothing is replaced and no part file stays behind.
    await Deno.writeTextFile(join(dest, base, "d11", "f1150"), "mine");
    const again = await extract();
    assert.equal(again.report.bytes, 0, "no file written again");
    assert.equal(again.problems.filter((p) => p.kind === "exists").length, count);
    assert.equal(await Deno.readTextFile(join(dest, base, "d11", "f1150")), "mine");
    assert.deepEqual([...Deno.readDirSync(join(dest, STAGING_DIR_NAME))], []);
  } finally {
    catalog.close();
    await box.cleanup();
  }
});
