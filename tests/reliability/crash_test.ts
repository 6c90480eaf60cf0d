/**
 * A short form of the crash test (`deno task test:crash` runs fifty trials): a backup killed with
 * SIGKILL at random moments, resumed (and killed again) until it finishes, must restore byte for
 * byte and leave no orphan object or unfinished multipart upload.
 */
import assert from "node:assert/strict";
import { describeTrial, runCrashTest, summaryTable } from "../../testing/crash_harness.ts";
import { needs, where } from "../../testing/platform.ts";

Deno.test(
  where(
    needs("bash", "age", "zstd", "tar"),
    "a backup killed at random moments and resumed loses nothing",
    async () => {
      const summary = await runCrashTest({ trials: 3 });
      const failed = summary.results.filter((r) => r.problems.length > 0);
      assert.deepEqual(
        failed.map(describeTrial),
        [],
        `seed ${summary.seed}:\n${summaryTable(summary)}`,
      );
      assert.ok(summary.volumes >= 8, `${summary.volumes} volumes`);
      assert.ok(summary.results.reduce((n, r) => n + r.kills, 0) >= 1, "no kill landed");
    },
  ),
);
