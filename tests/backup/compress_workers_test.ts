/**
 * Compression worker threads cost memory (the first about 30 MiB, each further one 12-14 MiB),
 * so they are started only for what needs them: one per segment in flight, at most
 * `defaultCompressThreads()` (two), none for `--compression none` and none for a restore, which
 * decompresses on the main thread. The commands run in this process (`main`), so the process-wide
 * count of started workers tells what each one started.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { compressWorkersStarted, defaultCompressThreads } from "../../lib/archive/compress_pool.ts";
import { makeSandbox, sandboxBackupArgs } from "../../testing/sandbox.ts";
import { stateDbOf, threadsStartedBy } from "./helpers.ts";
import { diffTrees, makeTree } from "../../testing/tree.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";

/** Threads of this kind the command `args` started. */
const startedBy = (args: string[]) => threadsStartedBy(compressWorkersStarted, args);

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
      assert.equal(await startedBy(sandboxBackupArgs(small)), 1);

      const restored = join(small.root, "restored");
      const db = await stateDbOf(small);
      assert.equal(await startedBy(["restore", db, "--to", restored]), 0);
      assert.deepEqual(await diffTrees(small.src, join(restored, archivePath(small.src))), []);

      // Five segments: never more workers than the pool's size.
      await makeTree(large.src, { bigFiles: [3_500_000, 3_500_000, 3_500_000] });
      const started = await startedBy(sandboxBackupArgs(large));
      assert.ok(started >= 1 && started <= defaultCompressThreads(), `${started} started`);

      await makeTree(plain.src, { bigFiles: [3_000_000], smallFiles: 20 });
      assert.equal(
        await startedBy(sandboxBackupArgs(plain, ["--compression", "none"])),
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
