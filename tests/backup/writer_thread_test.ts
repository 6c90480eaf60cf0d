/**
 * A backup writes a volume of larger files on its writer thread, from 16 MiB, and a small volume
 * on the main thread (the thread's start would cost more than it saves); the volumes restore to
 * the same files either way. The commands run in this process (`main`), so the process-wide count
 * of started threads tells what each backup started.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../main.ts";
import { writerThreadsStarted } from "../../lib/archive/volume_writer.ts";
import { makeSandbox, sandboxBackupArgs } from "../../testing/sandbox.ts";
import { stateDbOf, threadsStartedBy } from "./helpers.ts";
import { diffTrees, makeTree } from "../../testing/tree.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";

/** Threads of this kind the command `args` started. */
const startedBy = (args: string[]) => threadsStartedBy(writerThreadsStarted, args);

Deno.test({
  name: "a backup writes a volume of 16 MiB or more on its writer thread, a small one on its own",
  // The commands' own log files and signal handlers outlive a single call by design.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const small = await makeSandbox("glacier-writer-");
    const large = await makeSandbox("glacier-writer-");
    const plain = await makeSandbox("glacier-writer-");
    try {
      await makeTree(small.src, { smallFiles: 20 });
      assert.equal(await startedBy(sandboxBackupArgs(small)), 0);

      await makeTree(large.src, { bigFiles: [9_000_000, 9_000_000], smallFiles: 20 });
      assert.equal(await startedBy(sandboxBackupArgs(large)), 1);

      // Uncompressed, the TAR batches themselves go to the thread (taken over, not copied).
      await makeTree(plain.src, { bigFiles: [9_000_000, 9_000_000], smallFiles: 20 });
      assert.equal(
        await startedBy(sandboxBackupArgs(plain, ["--compression", "none"])),
        1,
      );

      for (const box of [small, large, plain]) {
        const restored = join(box.root, "restored");
        assert.equal(await main(["restore", await stateDbOf(box), "--to", restored]), 0);
        assert.deepEqual(await diffTrees(box.src, join(restored, archivePath(box.src))), []);
      }
    } finally {
      await small.cleanup();
      await large.cleanup();
      await plain.cleanup();
    }
  },
});
