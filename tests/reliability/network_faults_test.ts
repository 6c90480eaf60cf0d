/**
 * Backup, resume, verify and restore through the fault proxy at a 20% fault rate (connection resets, lost
 * answers, stalls, truncated answers, 500 and 503): the backup must finish with every file
 * restorable byte for byte, nothing stray in the bucket and no unfinished multipart upload. The
 * program retries for ever; the test bounds its own time and fails if a run does not finish.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createBucket, startMoto, testAwsEnv } from "../../testing/moto.ts";
import { describeCounts, startFaultProxy, totalFaults } from "../../testing/fault_proxy.ts";
import { makeTree } from "../../testing/tree.ts";
import { runCliWithin } from "../../testing/spawn_cli.ts";
import { assertKilled, stateDbFrom } from "../../testing/run_cli.ts";
import { diffRestored, restoreWithReferenceTools } from "../../testing/reference_restore.ts";
import { bucketProblems } from "../../testing/bucket_checks.ts";
import { testStorage } from "../../testing/moto_sandbox.ts";
import { newSeed } from "../../testing/seeded_random.ts";
import { needs, where } from "../../testing/platform.ts";

const MiB = 1024 * 1024;
/** A generous bound on each run; far above what it takes with the faults' retries. */
const RUN_TIMEOUT_MS = 300_000;

Deno.test(
  where(
    needs("bash", "age", "zstd", "tar"),
    "backup, resume and restore through 20% network faults keep the data identical",
    async () => {
      const seed = Number(Deno.env.get("GLACIER_FAULT_SEED") ?? newSeed());
      const moto = await startMoto();
      const proxy = startFaultProxy({
        target: { hostname: "127.0.0.1", port: moto.port },
        // A run makes about 70 requests; at 10% one seed in thirty drew fewer than three faults,
        // too few to test anything. At 20% that takes about one seed in ten thousand.
        rate: 0.2,
        seed,
      });
      const root = await Deno.makeTempDir({ prefix: "glacier-faults-" });
      try {
        const bucket = "fault-test";
        await createBucket(moto.endpoint, bucket);
        const src = join(root, "src");
        await Deno.mkdir(src);
        await makeTree(src, {
          bigFiles: [20 * MiB, ...Array(10).fill(1.5 * MiB)],
          smallFiles: 200,
        });
        const env = {
          ...testAwsEnv(proxy.endpoint),
          AWS_CONFIG_FILE: join(root, "no-aws-config"),
          AWS_SHARED_CREDENTIALS_FILE: join(root, "no-aws-credentials"),
        };
        const context = () => `fault seed ${seed} (GLACIER_FAULT_SEED replays it); ${describe()}`;
        const describe = () => describeCounts(proxy.counts());

        // The backup dies (SIGKILL at a crash point) partway through; the resume finishes it.
        const crashed = await runCliWithin(RUN_TIMEOUT_MS, [
          "backup",
          "--src-dirs",
          src,
          "--bucket",
          bucket,
          "--test-run",
          "--volume-size",
          "2MiB",
          "--state-dir",
          join(root, "state"),
          join(root, "work", "vol.tar"),
        ], { env: { ...env, GLACIER_TEST_CRASH_AT: "after-part-uploaded:3" } });
        assertKilled(crashed, `${context()}\n${crashed.stderr}`);
        const stateDb = stateDbFrom(crashed);
        const resumed = await runCliWithin(RUN_TIMEOUT_MS, ["resume", stateDb], { env });
        assert.equal(resumed.code, 0, `${context()}\n${resumed.stderr}`);
        // Which run meets the faults depends on the seed; together they always meet some.
        assert.match(
          crashed.stderr + resumed.stderr,
          /retrying in/,
          `faults reached the program and were retried; ${context()}`,
        );

        const verified = await runCliWithin(RUN_TIMEOUT_MS, ["verify", stateDb], { env });
        assert.equal(verified.code, 0, `${context()}\n${verified.stdout}${verified.stderr}`);

        const counts = proxy.counts();
        console.log(`network faults: ${describe()}`);
        assert.ok(totalFaults(counts) >= 3, context());

        const storage = testStorage(moto.endpoint, bucket);
        assert.deepEqual(await bucketProblems(stateDb, storage), [], context());
        const restored = await restoreWithReferenceTools(stateDb, storage, join(root, "out"));
        assert.deepEqual(await diffRestored(src, restored.dest), [], context());

        // And glacier restore itself, through the same faults: downloads, checks, extraction.
        const before = totalFaults(proxy.counts());
        const dest = join(root, "glacier-restore");
        const restore = await runCliWithin(RUN_TIMEOUT_MS, [
          "restore",
          stateDb,
          "--to",
          dest,
          "--yes",
        ], { env: { ...env, GLACIER_RESTORE_POLL_MS: "100" } });
        assert.equal(restore.code, 0, `${context()}\n${restore.stderr}`);
        assert.deepEqual(await diffRestored(src, dest), [], context());
        console.log(`faults during glacier restore: ${totalFaults(proxy.counts()) - before}`);
      } finally {
        await proxy.close();
        await moto.stop();
        await Deno.remove(root, { recursive: true });
      }
    },
  ),
);
