/**
 * The test suite's own machinery for Windows: skip reasons in test names (testing/platform.ts),
 * the summary the Windows runner prints (testing/windows/summary.ts), and the moto launcher.
 */
import assert from "node:assert/strict";
import { canRun, needs, skipIf, where } from "../../testing/platform.ts";
import { formatSummary, parseTestOutput } from "../../testing/windows/summary.ts";
import { startMotoLauncher } from "../../testing/moto_launcher.ts";

const fn = () => {};

Deno.test("where leaves a runnable test alone and marks a skipped one, reasons in its name", () => {
  assert.deepEqual(where(undefined, "plain", fn), { name: "plain", fn });
  assert.deepEqual(where([undefined, undefined], { name: "plain", fn }), { name: "plain", fn });
  const skipped = where([skipIf(true, "needs x"), undefined, "no y"], "t", fn);
  assert.equal(skipped.name, "t [skipped here: needs x; no y]");
  assert.equal(skipped.ignore, true);
});

Deno.test("needs names the programs that cannot be started, and only those", () => {
  assert.equal(canRun("glacier-no-such-program"), false);
  assert.equal(needs(), undefined);
  assert.match(needs("glacier-no-such-program") ?? "", /^needs glacier-no-such-program \(/);
});

Deno.test("the Windows summary counts tests, groups ignored ones by reason, lists failures", () => {
  const output = [
    "running 6 tests from ./tests/x/a_test.ts",
    "one ... ok (1ms)",
    // A worker module type-checked while its test runs prints inside the test's line.
    "zero ...Check lib/archive/pack_worker.ts",
    " ok (23s)",
    // So does the warning about a test running over a minute (on a slow machine).
    "slow ...'slow' has been running for over (1m0s)",
    " ok (1m9s)",
    "both ...Check lib/restore/place_worker.ts",
    "'both' has been running for over (1m0s)",
    " ok (1m27s)",
    "two [skipped here: needs age (not installed)] ... ignored (0ms)",
    "three ...",
    "  step a ... ok (1ms)",
    "  step b ... FAILED (2ms)",
    "three ... FAILED (3ms)",
    "four ... ignored (0ms)",
    "./tests/x/b_test.ts (uncaught error)",
    "./tests/x/b_test.ts (uncaught error)",
    "FAILED | 4 passed (1 step) | 1 failed (1 step) | 2 ignored (1s)",
  ].join("\n");
  const parsed = parseTestOutput(output);
  assert.equal(parsed.passed, 4);
  assert.deepEqual(parsed.failed, ["  step b", "three", "./tests/x/b_test.ts (uncaught error)"]);
  assert.deepEqual(parsed.ignored, [
    { name: "two", reason: "needs age (not installed)" },
    { name: "four", reason: "no reason given" },
  ]);
  assert.equal(parsed.complete, true);
  assert.equal(parseTestOutput("one ... ok (1ms)\n").complete, false);
  const text = formatSummary(
    [{ path: "tests/x", code: 1, timedOut: false, seconds: 1, ...parsed }],
    61,
    0,
  );
  assert.match(text, /^Windows \(wine-deno\): 4 passed, 3 failed, 2 ignored, 1 runs in 1 min 1 s/);
  assert.match(text, /1 x needs age \(not installed\)\n {6}tests\/x: two\n/);
  assert.match(text, /Failed:\n {2}tests\/x: {3}step b\n {2}tests\/x: three/);
});

Deno.test(where(needs("moto_server"), {
  name: "the moto launcher starts a moto server on request and stops it",
  fn: async () => {
    const launcher = await startMotoLauncher();
    try {
      const started = await fetch(`${launcher.url}/start`, { method: "POST", body: "{}" });
      assert.equal(started.status, 200);
      const { id, port } = await started.json();
      const answer = await fetch(`http://127.0.0.1:${port}/`);
      await answer.body?.cancel();
      assert.equal(answer.ok, true);
      const stopped = await fetch(`${launcher.url}/stop?id=${id}`, { method: "POST" });
      assert.equal(stopped.status, 204);
      await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
      assert.equal(launcher.started(), 1);
    } finally {
      await launcher.stop();
    }
  },
}));
