/**
 * Compression worker threads cost memory (the first about 30 MiB, each further one 12-14 MiB),
 * so they are started only for what needs them: one per segment in flight, at most
 * `defaultCompressThreads()` (two), none for `--compression none` and none for a restore, which
 * decompresses on the main thread. The commands run in this process (`main`), so the process-wide
 * count of started workers tells what each one started.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../main.ts";
import { compressWorkersStarted, defaultCompressThreads } from "../../lib/archive/compress_pool.ts";
import { makeSandbox, type Sandbox, sandboxBackupArgs } from "../../testing/sandbox.ts";
import { diffTrees, makeTree } from "../../testing/tree.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";

/** Runs `glacier ARGS` in this process; returns how many compression workers it started. */
async function workersStartedBy(args: string[]): Promise<number> {
  const before = compressWorkersStarted();
  const code = await main(args);
  assert.equal(code, 0, `glacier ${args.join(" ")} exited ${code}`);
  return compressWorkersStarted() - before;
}

async function stateDb(box: Sandbox): Promise<string> {
  for await (const entry of Deno.readDir(box.state)) {
    if (entry.name.endsWith(".sqlite3")) return join(box.state, entry.name);
  }
  throw new Error(`no state database in ${box.state}`);
}

Deno.test({
  name: "backup starts compression workers only as segments need them; restore starts none",
  // The commands' own log files and signal handlers outlive a single call by design.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const small = await makeSandbox("glacier-workers-");
    const large = await makeSandbox("glacier-workers-");
    const plain = await makeSandbox("glacier-workers-");
    try {
      // Well under one 2 MiB segment of TAR data: one frame, one worker.
      await makeTree(small.src, { smallFiles: 20 });
      assert.equal(await workersStartedBy(sandboxBackupArgs(small)), 1);

      const restored = join(small.root, "restored");
      const db = await stateDb(small);
      assert.equal(await workersStartedBy(["restore", db, "--to", restored]), 0);
      assert.deepEqual(await diffTrees(small.src, join(restored, archivePath(small.src))), []);

      // Five segments: never more workers than the pool's size.
      await makeTree(large.src, { bigFiles: [3_500_000, 3_500_000, 3_500_000] });
      const started = await workersStartedBy(sandboxBackupArgs(large));
      assert.ok(started >= 1 && started <= defaultCompressThreads(), `${started} started`);

      await makeTree(plain.src, { bigFiles: [3_000_000], smallFiles: 20 });
      assert.equal(
        await workersStartedBy(sandboxBackupArgs(plain, ["--compression", "none"])),
        0,
      );
    } finally {
      await small.cleanup();
      await large.cleanup();
      await plain.cleanup();
    }
  },
});

Deno.test("at most two compression workers, one on a one-core machine", () => {
  assert.equal(defaultCompressThreads(1), 1);
  assert.equal(defaultCompressThreads(2), 2);
  assert.equal(defaultCompressThreads(16), 2);
  assert.equal(defaultCompressThreads(0), 1);
});
