/**
 * A restore killed with SIGKILL in the middle of a volume of small files: every file under its
 * real name is complete, or named in a journal of the killed run (placing_journal.ts: files are
 * written in place in folders the run made, anything else goes through a part file in the staging
 * folder), and the same command run again gives the whole tree and removes the staging folder
 * with what the killed run left in it, and nothing else: names like a part file's elsewhere stay.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertKilled, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { spawnCli } from "../../testing/spawn_cli.ts";
import { diffTrees, makeTree } from "../../testing/tree.ts";
import { STAGING_DIR_NAME } from "../../lib/restore/safe_writer.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { readLeftovers } from "../../lib/restore/placing_journal.ts";

/** A file's mtime in whole seconds, as a restore gives it. */
function seconds(info: Deno.FileInfo): number {
  return Math.floor(info.mtime!.getTime() / 1000);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

const SMALL_FILES = 3000;

/** Every file of `root` (not following symlinks), as paths relative to it. */
async function walk(root: string, relative = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(join(root, relative))) {
    const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory) found.push(...await walk(root, path));
    else found.push(path);
  }
  return found;
}

/** How many of the small files are in place under `many/` of the restored source. */
function restoredSoFar(restoredSrc: string): number {
  let count = 0;
  for (let i = 0; i < 10; i++) {
    try {
      for (const _ of Deno.readDirSync(join(restoredSrc, "many", String(i)))) count++;
    } catch {
      // not there yet
    }
  }
  return count;
}

Deno.test("a restore killed mid-volume leaves no half-written file under a real name; the rerun cleans up", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-restore-kill-" });
  const env = {
    AWS_CONFIG_FILE: join(root, "none"),
    AWS_SHARED_CREDENTIALS_FILE: join(root, "none"),
  };
  try {
    const src = join(root, "src");
    await Deno.mkdir(src);
    await Deno.mkdir(join(root, "bucket"));
    await makeTree(src, { smallFiles: SMALL_FILES });
    const backup = await runCli([
      "backup",
      "--src-dirs",
      src,
      "--bucket",
      `file://${join(root, "bucket")}`,
      "--state-dir",
      join(root, "state"),
    ], { env });
    assert.equal(backup.code, 0, backup.stderr);
    const stateDb = stateDbFrom(backup);
    const dest = join(root, "restored");
    const restoredSrc = join(dest, archivePath(src));

    const run = spawnCli(["restore", stateDb, "--to", dest, "--yes"], { env });
    let killed = false;
    for (let tries = 0; tries < 6000 && !killed; tries++) {
      // Past the first 256 small files, the rest are placed by a worker (small_file_placer.ts).
      if (restoredSoFar(restoredSrc) >= 600) killed = run.kill();
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const result = await run.result;
    assert.ok(killed, `the restore ended before it could be killed: ${result.stderr}`);
    assertKilled(result, "the restore", true);
    const inPlace = restoredSoFar(restoredSrc);
    assert.ok(inPlace < SMALL_FILES, `killed after all ${inPlace} files were in place`);

    // Every file under a real name is complete (the same bytes and mtime as its source), or
    // named in the killed run's journal. (Part files and journals stay in the staging folder
    // beside the restored source, under `dest`.)
    const named = readLeftovers(join(dest, STAGING_DIR_NAME));
    const prefix = archivePath(src);
    let complete = 0;
    for (const path of await walk(restoredSrc)) {
      const info = await Deno.lstat(join(restoredSrc, path));
      if (info.isSymlink) continue;
      const same = equalBytes(
        await Deno.readFile(join(restoredSrc, path)),
        await Deno.readFile(join(src, path)),
      ) && seconds(info) === seconds(await Deno.lstat(join(src, path)));
      if (same) complete++;
      else assert.ok(named.has(`${prefix}/${path}`), `${path} is complete or named`);
    }
    assert.ok(complete > 0);

    // A leftover of the killed run in the staging folder, and names like a part file's
    // elsewhere in the destination and outside it.
    const leftover = join(dest, STAGING_DIR_NAME, `${crypto.randomUUID()}-1.part`);
    const lookalike = `${crypto.randomUUID()}-1.part`;
    await Deno.writeTextFile(leftover, "half a file");
    await Deno.writeTextFile(join(dest, lookalike), "the user's");
    await Deno.writeTextFile(join(dest, `.glacier-restore-${lookalike}`), "the user's");
    await Deno.writeTextFile(join(root, lookalike), "not the restore's");

    const again = await runCli(["restore", stateDb, "--to", dest, "--yes"], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await diffTrees(src, restoredSrc), []);
    await assert.rejects(Deno.lstat(join(dest, STAGING_DIR_NAME)), Deno.errors.NotFound);
    assert.equal(await Deno.readTextFile(join(dest, lookalike)), "the user's");
    assert.equal(
      await Deno.readTextFile(join(dest, `.glacier-restore-${lookalike}`)),
      "the user's",
    );
    assert.equal(await Deno.readTextFile(join(root, lookalike)), "not the restore's");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
