/**
 * The command line as a user coming from the original tool types it: its examples run as written,
 * options take one value each and leave positional arguments alone, help and errors read well.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Command } from "commander";
import { runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { createBucket, startMoto, testAwsEnv } from "../../testing/moto.ts";
import { backupCommand } from "../../commands/backup.ts";
import { restoreCommand } from "../../commands/restore.ts";
import { estimateCommand } from "../../commands/estimate.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";

const AGE_RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

/** The positional arguments and options `command` parses from `args` (its action replaced). */
function parsed(command: Command, args: string[]): { positional: unknown[]; options: unknown } {
  let result: { positional: unknown[]; options: unknown } | undefined;
  command.exitOverride().action((...values: unknown[]) => {
    const options = values.at(-2);
    result = { positional: values.slice(0, -2), options };
  });
  command.parse(args, { from: "user" });
  return result!;
}

Deno.test("the original tool's README example runs as written: backup ... --encrypt --compression=gz", async () => {
  const moto = await startMoto();
  const root = await Deno.makeTempDir({ prefix: "glacier-original-" });
  try {
    await createBucket(moto.endpoint, "mybucket");
    for (const dir of ["A", "B"]) {
      await Deno.mkdir(join(root, dir));
      await Deno.writeTextFile(join(root, dir, "note.txt"), `in ${dir}\n`);
    }
    const env = {
      ...testAwsEnv(moto.endpoint),
      AWS_CONFIG_FILE: join(root, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(root, "no-aws-credentials"),
    };
    const example = "backup --src-dirs A B --bucket=mybucket --encrypt --compression=gz " +
      "/tmp/temp_folder/output.tar";
    const result = await runCli(example.split(" "), { env, cwd: root });
    assert.equal(result.code, 0, result.stderr);
    const catalog = Catalog.open(stateDbFrom(result), { readOnly: true });
    try {
      const settings = catalog.settings();
      assert.equal(settings.encrypt, true);
      assert.equal(settings.compression, "gzip");
      assert.equal(settings.baseName, "output.tar");
    } finally {
      catalog.close();
    }
  } finally {
    await moto.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("--encrypt and --no-encrypt: the last one given wins", () => {
  const last = (...flags: string[]) =>
    parsed(backupCommand(() => {}), ["--src-dirs", "a", "--bucket", "b", ...flags]).options;
  assert.equal((last("--encrypt") as { encrypt: boolean }).encrypt, true);
  assert.equal((last("--encrypt", "--no-encrypt") as { encrypt: boolean }).encrypt, false);
});

Deno.test("options that take a value take one: positional arguments after them stay positional", () => {
  const backup = parsed(backupCommand(() => {}), [
    "--src-dirs",
    "a",
    "--bucket",
    "b",
    "--recipient",
    AGE_RECIPIENT,
    "--exclude",
    "*.tmp",
    "out.tar",
  ]);
  assert.deepEqual(backup.positional, ["out.tar"]);
  assert.deepEqual((backup.options as { recipient: string[] }).recipient, [AGE_RECIPIENT]);
  for (const [make, extra] of [[restoreCommand, ["--to", "o"]], [estimateCommand, []]] as const) {
    const command = parsed(make(() => {}), [...extra, "--include", "docs/", "x.sqlite3"]);
    assert.deepEqual(command.positional, ["x.sqlite3"], make.name);
  }
  const restore = parsed(restoreCommand(() => {}), [
    "--to",
    "o",
    "--exclude",
    "a",
    "--identity",
    "key.txt",
    "x.sqlite3",
    "--exclude",
    "b",
  ]);
  assert.deepEqual(restore.positional, ["x.sqlite3"]);
  assert.deepEqual((restore.options as { exclude: string[] }).exclude, ["a", "b"]);
});

Deno.test("an error about a value quotes the value", async () => {
  const result = await runCli(["backup", "--src-dirs", ".", "--bucket", "b", "--recipient", "x"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--recipient "x"/);
});

Deno.test("help marks required options and shows no empty defaults", async () => {
  const commands = ["backup", "restore", "list", "delete", "estimate", "verify", "decrypt"];
  for (const name of commands) {
    const help = (await runCli([name, "--help"])).stdout;
    assert.doesNotMatch(help, /\(default: (\[\]|"")\)/, name);
  }
  const backup = (await runCli(["backup", "--help"])).stdout.replace(/\s+/g, " ");
  assert.match(backup, /--src-dirs <dir\.\.\.> folders to back up \(required\)/);
  assert.match(backup, /--bucket <bucket> [^-]*\(required\)/);
});

Deno.test("usage errors inside a command end with the --help hint", async () => {
  const result = await runCli(["backup", "--src-dirs", "."]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--bucket[^\n]*not specified\n\(run with --help for usage\)/);
});

Deno.test("estimate prices the thaw days a restore asks for by default", () => {
  const days = (command: Command) => command.options.find((o) => o.long === "--days")?.defaultValue;
  assert.equal(days(estimateCommand(() => {})), days(restoreCommand(() => {})));
});

Deno.test("restore says when an existing state database was taken as a pattern", async () => {
  const root = await Deno.makeTempDir();
  try {
    const db = join(root, "20260101_000000_backup_statedb.sqlite3");
    await Deno.writeTextFile(db, "");
    const result = await runCli(["restore", "--to", root, "--include", db]);
    assert.equal(result.code, 2);
    // Matched literally: a Windows path's backslashes would be escapes in a RegExp.
    assert.ok(result.stderr.includes(`"${db}" was taken as a pattern`), result.stderr);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
