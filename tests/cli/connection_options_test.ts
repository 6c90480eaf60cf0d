/** The bucket and connection options, declared once (lib/cli/options.ts) for every command. */
import assert from "node:assert/strict";
import type { Command } from "commander";
import { backupCommand } from "../../commands/backup.ts";
import { deleteCommand } from "../../commands/delete.ts";
import { listCommand } from "../../commands/list.ts";
import { restoreCommand } from "../../commands/restore.ts";
import { resumeCommand } from "../../commands/resume.ts";
import { syncCommand } from "../../commands/sync.ts";
import { verifyCommand } from "../../commands/verify.ts";

const ignore = () => {};

/** `--name` of `command`, or undefined. */
function option(command: Command, name: string) {
  return command.options.find((o) => o.long === `--${name}`);
}

Deno.test("backup and list name their bucket: --bucket is required, no 'stored' values", () => {
  for (const command of [backupCommand(ignore), listCommand(ignore)]) {
    assert.equal(option(command, "bucket")?.mandatory, true, command.name());
    for (const name of ["endpoint", "region", "profile"]) {
      assert.ok(option(command, name), `${command.name()} --${name}`);
      assert.doesNotMatch(option(command, name)!.description, /stored/);
    }
  }
});

Deno.test("commands on an existing backup override the stored connection settings", () => {
  const commands = [resumeCommand, restoreCommand, verifyCommand, deleteCommand, syncCommand]
    .map((make) => make(ignore));
  for (const command of commands) {
    for (const name of ["endpoint", "region", "profile"]) {
      assert.match(option(command, name)?.description ?? "", /overrides the one stored/);
    }
    // resume always uses the backup's own bucket; the others may be pointed at another one.
    assert.equal(option(command, "bucket") === undefined, command.name() === "resume");
    assert.notEqual(option(command, "bucket")?.mandatory, true);
  }
});
