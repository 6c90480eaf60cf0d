/**
 * Every command with a log writes what ended it to `logs/main.log`: the `error: ...` line printed
 * on the terminal for a fatal error, and the exit code.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { backupToSandbox, makeSandbox, type Sandbox } from "../../testing/sandbox.ts";

/** Runs `fn` with a sandbox holding one small file, removed afterwards. */
async function withSandbox(fn: (box: Sandbox) => Promise<void>): Promise<void> {
  const box = await makeSandbox("glacier-command-log-");
  try {
    await Deno.writeTextFile(join(box.src, "a.txt"), "hello\n");
    await fn(box);
  } finally {
    await box.cleanup();
  }
}

/** A backup of the sandbox that must succeed; returns its state database. */
async function backedUp(box: Sandbox): Promise<string> {
  const made = await backupToSandbox(box);
  assert.equal(made.code, 0, made.stderr);
  return stateDbFrom(made);
}

/** The one `error: ...` line a run printed, without its prefix. */
function fatalLine(result: CliResult): string {
  const errors = result.stderr.split("\n").filter((line) => line.startsWith("error: "));
  assert.equal(errors.length, 1, result.stderr);
  return errors[0].slice("error: ".length);
}

/** Asserts that the log's last two lines are `message` (as an error) and the exit code. */
async function assertLogEndsWith(box: Sandbox, command: string, message: string, code: number) {
  const log = (await Deno.readTextFile(join(box.state, "logs", "main.log"))).trimEnd().split("\n");
  const tail = log.slice(-2).map((line) => line.replace(/^\S+ /, ""));
  assert.deepEqual(tail, [`ERROR ${message}`, `INFO  ${command} ended with exit code ${code}`]);
}

Deno.test("a restore's fatal error and exit code are written to logs/main.log", async () => {
  await withSandbox(async (box) => {
    const stateDb = await backedUp(box);
    const result = await runCli([
      "restore",
      stateDb,
      "--to",
      join(box.root, "out"),
      "--include",
      "no/such/file",
    ]);
    assert.equal(result.code, 2, result.stderr);
    const message = fatalLine(result);
    assert.match(message, /nothing in backup \d{8}_\d{6} matches the given patterns/);
    await assertLogEndsWith(box, "restore", message, 2);
  });
});

Deno.test("a backup's fatal error and exit code are written to logs/main.log", async () => {
  await withSandbox(async (box) => {
    const result = await backupToSandbox(box, "/");
    assert.equal(result.code, 2, result.stderr);
    const message = fatalLine(result);
    assert.match(message, /OUTPUT_TAR "\/" must end in a file name/);
    await assertLogEndsWith(box, "backup", message, 2);
  });
});

Deno.test("decrypt's fatal error and exit code are written to logs/main.log", async () => {
  await withSandbox(async (box) => {
    const stateDb = await backedUp(box);
    const result = await runCli(["decrypt", stateDb, join(box.root, "no-such-folder")]);
    assert.equal(result.code, 2, result.stderr);
    const message = fatalLine(result);
    assert.match(message, /no-such-folder does not exist/);
    await assertLogEndsWith(box, "decrypt", message, 2);
  });
});

Deno.test("a restore that fails on the bucket logs its error lines and exit code 3", async () => {
  await withSandbox(async (box) => {
    const stateDb = await backedUp(box);
    const result = await runCli([
      "restore",
      stateDb,
      "--to",
      join(box.root, "out"),
      "--bucket",
      `file://${join(box.root, "missing-bucket")}`,
    ]);
    assert.equal(result.code, 3, result.stderr);
    const log = await Deno.readTextFile(join(box.state, "logs", "main.log"));
    assert.match(log, /ERROR restore failed; run the same command again/);
    assert.match(log, /INFO {2}restore ended with exit code 3\n$/);
  });
});
