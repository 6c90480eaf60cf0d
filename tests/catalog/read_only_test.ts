/**
 * Commands that only read a state database work on a read-only one (file, folder or mount) and
 * never write a byte to the file they are given, even when it is no database at all. Commands
 * that write say in one line that it must be writable, and where to copy it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { readOnlyFolderSupport, runCliOnReadOnlyFolder } from "../../testing/read_only.ts";
import { backupToSandbox, makeSandbox, type Sandbox } from "../../testing/sandbox.ts";
import { randomBytes } from "../../testing/tree.ts";
import { where } from "../../testing/platform.ts";

/** The commands that only read STATEDB (restore only with --dry-run). */
function readingCommands(stateDb: string, box: Sandbox, volumes: string): string[][] {
  return [
    ["show", stateDb],
    ["key", "export", stateDb],
    ["estimate", stateDb],
    ["verify", stateDb],
    ["verify", stateDb, "--local", volumes],
    ["restore", stateDb, "--to", join(box.root, "dry"), "--dry-run"],
  ];
}

/** The commands that write to STATEDB. */
function writingCommands(stateDb: string, box: Sandbox): string[][] {
  return [
    ["resume", stateDb],
    ["sync", stateDb],
    ["restore", stateDb, "--to", join(box.root, "restored")],
    ["decrypt", stateDb, box.bucket],
    ["delete", stateDb, "--files", "000001_backup.tar.zst.age", "--yes"],
  ];
}

/** Exit 2 with one error line matching `message`, no stack trace. */
function assertRefused(result: CliResult, message: RegExp, what: string): void {
  assert.equal(result.code, 2, `${what}: exit ${result.code}\n${result.stderr}`);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `${what}: one line expected\n${result.stderr}`);
  assert.match(lines[0], message, what);
}

/** A folder's names, sizes, modification times and bytes, to prove that nothing changed. */
async function snapshot(folder: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const entry of Deno.readDir(folder)) {
    const path = join(folder, entry.name);
    const info = await Deno.lstat(path);
    const bytes = info.isFile ? await Deno.readFile(path) : new Uint8Array();
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    out.set(entry.name, `${info.size} ${info.mtime?.getTime()} ${digest.join(",")}`);
  }
  return out;
}

const unsupported = await readOnlyFolderSupport();

Deno.test(where(unsupported, {
  name: "a read-only state database can be read, and writing commands say where to copy it",
  fn: async () => {
    const box = await makeSandbox("glacier-read-only-");
    try {
      await Deno.writeTextFile(join(box.src, "a.txt"), "hello\n");
      const backup = await backupToSandbox(box);
      assert.equal(backup.code, 0, backup.stderr);
      const [volumes] = await Array.fromAsync(Deno.readDir(box.bucket))
        .then((entries) => entries.filter((e) => /^\d{8}_\d{6}$/.test(e.name)))
        .then((entries) => entries.map((e) => join(box.bucket, e.name)));
      // A copy alone in a folder, as on a read-only medium: no -wal, -shm or lock file beside it.
      const folder = join(box.root, "read-only");
      await Deno.mkdir(folder);
      const stateDb = join(folder, "copy.sqlite3");
      await Deno.copyFile(stateDbFrom(backup), stateDb);
      const before = await snapshot(folder);

      for (const args of readingCommands(stateDb, box, volumes)) {
        const result = await runCliOnReadOnlyFolder(folder, args);
        assert.equal(result.code, 0, `${args.join(" ")}: exit ${result.code}\n${result.stderr}`);
      }
      const shown = await runCliOnReadOnlyFolder(folder, ["show", stateDb]);
      assert.match(shown.stdout, /a\.txt/);
      const key = await runCliOnReadOnlyFolder(folder, ["key", "export", stateDb]);
      assert.match(key.stdout, /^AGE-SECRET-KEY-1/m);

      for (const args of writingCommands(stateDb, box)) {
        assertRefused(
          await runCliOnReadOnlyFolder(folder, args),
          new RegExp(
            `^error: state database ${stateDb} must be writable for this command, but .* is ` +
              `read-only: copy it to a writable folder \\(cp ${stateDb} .*/\\) and give .* instead`,
          ),
          args.join(" "),
        );
      }
      assert.deepEqual(await snapshot(folder), before, "the read-only folder was changed");
    } finally {
      await box.cleanup();
    }
  },
}));

Deno.test("a file that is not a state database is refused and left exactly as it was", async () => {
  const box = await makeSandbox("glacier-not-a-db-");
  try {
    const folder = join(box.root, "given");
    await Deno.mkdir(folder);
    await Deno.writeFile(join(folder, "empty.sqlite3"), new Uint8Array());
    await Deno.writeFile(join(folder, "random.sqlite3"), randomBytes(64 * 1024));
    await Deno.writeTextFile(join(folder, "notes.txt"), "not a database\n".repeat(100));
    // Times in the past, so that a rewrite within the same second would still show.
    for await (const entry of Deno.readDir(folder)) {
      await Deno.utime(join(folder, entry.name), 1_000_000, 1_000_000);
    }
    const before = await snapshot(folder);
    for (const name of before.keys()) {
      const given = join(folder, name);
      for (const args of readingCommands(given, box, box.bucket)) {
        assertRefused(
          await runCli(args),
          /^error: (\S+ is not a glacier state database|(cannot open )?state database \S+( is unreadable)?: file is not a database)$/,
          `${args.join(" ")}`,
        );
      }
    }
    // Read-only commands leave no file beside it either (no -wal, -shm, -journal or lock).
    assert.deepEqual(await snapshot(folder), before, "a read-only command changed the folder");
    for (const name of before.keys()) {
      const given = join(folder, name);
      for (const args of writingCommands(given, box).slice(0, 2)) {
        assertRefused(
          await runCli(args),
          /not a glacier state database|: file is not a database/,
          args.join(" "),
        );
      }
    }
    const after = await snapshot(folder);
    for (const [name, state] of before) {
      assert.equal(after.get(name), state, `${name} was changed by a writing command`);
    }
  } finally {
    await box.cleanup();
  }
});
