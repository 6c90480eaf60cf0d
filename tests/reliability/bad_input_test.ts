/**
 * Bad input, each case a row: what was tried, the exit code it must give, and the one line it
 * must print. Never a stack trace, never a lost or half-recorded volume.
 *
 * | input                                   | exit | message                                   |
 * |-----------------------------------------|------|-------------------------------------------|
 * | missing source folder                   | 2    | source folder ... does not exist          |
 * | source that is a file                   | 2    | source ... is not a folder                |
 * | unknown storage class                   | 2    | ... is not a storage class                |
 * | volume size 0 / 10 TiB                  | 2    | --volume-size must be between ...         |
 * | missing folder bucket                   | 3    | ... does not exist (resumable)            |
 * | missing S3 bucket                       | 3    | bucket ... does not exist (backup_s3_test)|
 * | bad credentials (moto with IAM auth)    | 3    | access denied ... (resumable)             |
 * | bad endpoint (closed port)              | 3    | cannot reach ...                          |
 * | corrupt / truncated state database      | 2    | state database ...                        |
 * | state database of a newer schema        | 2    | newer than this program understands       |
 * | wrong identity for decrypt              | 2    | tests/manage/decrypt_test.ts              |
 * | tampered / truncated volume (decrypt)   | 3    | names the file: tests/manage, verify_test |
 * | full disk while building a volume       | 3    | resumable; volume not recorded as built   |
 * | FIFO in the tree                        | 1    | skipped FIFO, listed                      |
 * | symlink loop                            | 0    | stored as links, not followed             |
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { SCHEMA_VERSION } from "../../lib/catalog/schema.ts";
import { startMoto } from "../../testing/moto.ts";
import { type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { makeTree, randomBytes } from "../../testing/tree.ts";
import { sh } from "../../testing/volumes.ts";
import { backupToSandbox, makeSandbox, type Sandbox } from "../../testing/sandbox.ts";
import { canRun, skipIf, skipOnWindows, where } from "../../testing/platform.ts";

const NO_AWS_FILES = {
  AWS_CONFIG_FILE: "/nonexistent/aws-config",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
};

async function sandbox(): Promise<Sandbox> {
  const box = await makeSandbox("glacier-bad-input-");
  await makeTree(box.src);
  return box;
}

/** Asserts the documented exit code and a single error line without a stack trace. */
function expectFailure(result: CliResult, code: number, message: RegExp, what: string) {
  assert.equal(result.code, code, `${what}: exit ${result.code}\n${result.stderr}`);
  const errors = result.stderr.split("\n").filter((line) => line.startsWith("error: "));
  assert.ok(errors.length >= 1, `${what}: no error line\n${result.stderr}`);
  assert.match(errors[0], message, what);
  assert.doesNotMatch(result.stderr, /^\s+at .*:\d+:\d+/m, `${what}: stack trace`);
}

Deno.test("bad command-line input and bad folders: exit 2 or 3 with one clear line", async () => {
  const box = await sandbox();
  try {
    await Deno.writeTextFile(join(box.root, "a-file"), "x");
    const backup = (...args: string[]) =>
      runCli(["backup", "--state-dir", box.state, ...args], { env: NO_AWS_FILES });
    const bucket = ["--bucket", `file://${box.bucket}`];
    const rows: [string, Promise<CliResult>, number, RegExp][] = [
      [
        "missing source",
        backup("--src-dirs", join(box.root, "nope"), ...bucket),
        2,
        /source folder .* does not exist/,
      ],
      [
        "source is a file",
        backup("--src-dirs", join(box.root, "a-file"), ...bucket),
        2,
        /is not a folder/,
      ],
      [
        "unknown storage class",
        backup("--src-dirs", box.src, ...bucket, "--storage-class", "ICE"),
        2,
        /not a storage class/,
      ],
      [
        "volume size 0",
        backup("--src-dirs", box.src, ...bucket, "--volume-size", "0"),
        2,
        /--volume-size must be between/,
      ],
      [
        "absurd volume size",
        backup("--src-dirs", box.src, ...bucket, "--volume-size", "10TiB"),
        2,
        /--volume-size must be between/,
      ],
      [
        "missing folder bucket",
        backup("--src-dirs", box.src, "--bucket", `file://${box.root}/no-such-folder`),
        3,
        /no-such-folder/,
      ],
    ];
    for (const [what, run, code, message] of rows) expectFailure(await run, code, message, what);
  } finally {
    await box.cleanup();
  }
});

Deno.test("bad credentials and a bad endpoint fail fast, permanently, with one line", async () => {
  const box = await sandbox();
  const moto = await startMoto({ checkCredentials: true });
  try {
    const env = {
      ...NO_AWS_FILES,
      AWS_ACCESS_KEY_ID: "AKIAIDONOTEXIST00000",
      AWS_SECRET_ACCESS_KEY: "wrong",
      AWS_REGION: "us-east-1",
    };
    const creds = await runCli([
      "backup",
      "--src-dirs",
      box.src,
      "--bucket",
      "some-bucket",
      "--endpoint",
      moto.endpoint,
      "--state-dir",
      box.state,
    ], { env });
    expectFailure(creds, 3, /access denied|InvalidAccessKeyId|credentials/i, "bad credentials");
    // Found by the bucket check, before any state database: nothing to resume.
    assert.equal(creds.stdout, "", "no state database may be made");
    assert.doesNotMatch(creds.stderr, /glacier resume /);

    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const endpoint = await runCli([
      "backup",
      "--src-dirs",
      box.src,
      "--bucket",
      "some-bucket",
      "--endpoint",
      `http://127.0.0.1:${port}`,
      "--state-dir",
      box.state,
    ], { env });
    expectFailure(endpoint, 3, /cannot reach/, "bad endpoint");
  } finally {
    await moto.stop();
    await box.cleanup();
  }
});

Deno.test("damaged state databases are refused with exit 2", async () => {
  const box = await sandbox();
  try {
    const ok = await backupToSandbox(box);
    assert.equal(ok.code, 0, ok.stderr);
    const stateDb = stateDbFrom(ok);
    const bytes = await Deno.readFile(stateDb);

    const truncated = join(box.root, "truncated.sqlite3");
    await Deno.writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const garbage = join(box.root, "garbage.sqlite3");
    await Deno.writeFile(garbage, randomBytes(64 * 1024));
    const newer = join(box.root, "newer.sqlite3");
    await Deno.writeFile(newer, bytes);
    const db = new DatabaseSync(newer);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();

    for (
      const [what, path, message] of [
        ["truncated", truncated, /state database|not a glacier|damaged|unreadable/],
        ["garbage", garbage, /state database|not a glacier/],
        ["newer schema", newer, /newer than this program/],
        ["missing", join(box.root, "nope.sqlite3"), /cannot open state database/],
      ] as const
    ) {
      for (const command of [["resume", path], ["show", path], ["key", "export", path]]) {
        expectFailure(await runCli(command), 2, message, `${command[0]} of a ${what} database`);
      }
    }
  } finally {
    await box.cleanup();
  }
});

Deno.test(
  where(
    skipOnWindows("it has no FIFOs, which the test needs"),
    "a FIFO is skipped and listed, a symlink loop is stored as links",
    async () => {
      const box = await sandbox();
      try {
        await sh(`mkfifo '${join(box.src, "pipe")}'`);
        await Deno.symlink("loop-b", join(box.src, "loop-a"));
        await Deno.symlink("loop-a", join(box.src, "loop-b"));
        await Deno.mkdir(join(box.src, "cycle"));
        await Deno.symlink("..", join(box.src, "cycle", "up"));
        const result = await backupToSandbox(box);
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, /skipped .*pipe: skipped FIFO/);
        const catalog = Catalog.open(stateDbFrom(result));
        const links = catalog.filesAfter(0, 10_000).filter((f) => f.type === "symlink");
        catalog.close();
        assert.deepEqual(
          links.filter((f) => /loop-|up$/.test(f.path)).map((f) => f.linkTarget).sort(),
          ["..", "loop-a", "loop-b"],
        );
      } finally {
        await box.cleanup();
      }
    },
  ),
);

/** Mounts a small tmpfs at `path` (root only); false where mounting is not allowed. */
async function smallDisk(path: string, size: string): Promise<boolean> {
  await Deno.mkdir(path, { recursive: true });
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", path],
    stderr: "null",
  }).output();
  return out.success;
}

/** Whether this process may mount a tmpfs: tried once, when the module loads. */
async function canMountTmpfs(): Promise<boolean> {
  if (!canRun("mount")) return false; // Windows
  const probe = await Deno.makeTempDir({ prefix: "glacier-tmpfs-probe-" });
  try {
    if (!(await smallDisk(probe, "1m"))) return false;
    await sh(`umount '${probe}'`);
    return true;
  } finally {
    await Deno.remove(probe, { recursive: true });
  }
}

Deno.test(
  where(skipIf(!(await canMountTmpfs()), "needs root and mount, to make a small tmpfs disk"), {
    name: "a full disk while building a volume stops the run, resumable, nothing recorded as built",
    fn: async () => {
      const box = await sandbox();
      const disk = join(box.root, "small-disk");
      try {
        assert.ok(await smallDisk(disk, "3m"), "mounting a tmpfs worked a moment ago");
        await Deno.writeFile(join(box.src, "big.bin"), randomBytes(6 * 1024 * 1024));
        const full = await backupToSandbox(box, join(disk, "vol.tar"));
        expectFailure(full, 3, /No space left on device|os error 28/i, "full disk");
        const stateDb = stateDbFrom(full);
        const catalog = Catalog.open(stateDb);
        assert.ok(
          catalog.volumes().some((v) => v.state === "planned"),
          "the volume being built must not be recorded as built",
        );
        catalog.close();
        assert.deepEqual(
          [...Deno.readDirSync(disk)].map((e) => e.name),
          [],
          "no partial file left",
        );
        await sh(`mount -o remount,size=64m '${disk}'`);
        const resumed = await runCli(["resume", stateDb]);
        assert.equal(resumed.code, 0, resumed.stderr);
      } finally {
        await sh(`umount '${disk}'`).catch(() => {});
        await box.cleanup();
      }
    },
  }),
);
