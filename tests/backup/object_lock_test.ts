/**
 * `backup --object-lock-days` refuses to start where the lock cannot be had: a bucket without
 * Object Lock stops the run before any state database exists, and a folder bucket refuses the
 * option outright. `--dry-run` says what the lock means for deleting.
 */
import assert from "node:assert/strict";
import { backupToMotoSandbox, makeMotoSandbox } from "../../testing/moto_sandbox.ts";
import { backupToSandbox, makeSandbox } from "../../testing/sandbox.ts";
import { makeTree } from "../../testing/tree.ts";

/** The files of `folder` (none when it does not exist). */
async function filesIn(folder: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

Deno.test("--object-lock-days on a bucket without Object Lock stops before the state database, saying how to get one", async () => {
  const box = await makeMotoSandbox({ prefix: "glacier-nolock" });
  try {
    await makeTree(box.src, { smallFiles: 5 });
    const result = await backupToMotoSandbox(box, "--test-run", "--object-lock-days", "1");
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, "", "no state database path is printed");
    assert.match(
      result.stderr,
      /does not have Object Lock enabled; use a bucket created with it \(aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket\)/,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    const stateFiles = await filesIn(box.state);
    assert.deepEqual(stateFiles.filter((name) => name.endsWith(".sqlite3")), [], `${stateFiles}`);
    for await (const object of box.storage.listObjects("")) assert.fail(`uploaded ${object.key}`);
  } finally {
    await box.cleanup();
  }
});

Deno.test("--object-lock-days refuses a folder bucket and a wrong mode; --dry-run names the lock", async () => {
  const box = await makeSandbox("glacier-lock-");
  try {
    await makeTree(box.src, { smallFiles: 5 });
    const folder = await backupToSandbox(box, "--object-lock-days", "7");
    assert.equal(folder.code, 2, folder.stderr);
    assert.match(
      folder.stderr,
      /--object-lock-days needs an S3 bucket with Object Lock; .* is a folder/,
    );
    assert.equal(folder.stdout, "");

    const mode = await backupToSandbox(box, "--object-lock-days", "7", "--object-lock-mode", "x");
    assert.equal(mode.code, 2, mode.stderr);
    assert.match(mode.stderr, /--object-lock-mode "x": use governance or compliance/);

    // The dry run touches no bucket, so the folder's refusal comes first: use an S3 name.
    const dry = await backupToSandbox(
      box,
      "--dry-run",
      "--bucket",
      "some-bucket",
      "--object-lock-days",
      "30",
      "--object-lock-mode",
      "compliance",
    );
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /Object Lock \(compliance\): each volume and the catalog copy are locked for 30 days after upload; locked volumes cannot be removed early/,
    );
    assert.deepEqual(await filesIn(box.state), []);
  } finally {
    await box.cleanup();
  }
});
