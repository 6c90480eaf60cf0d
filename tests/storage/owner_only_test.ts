/**
 * Files only their owner may read: mode 0600 on Linux and macOS; on Windows an ACL set with
 * `icacls`, read back, and when it cannot be set a note that the file is readable by whoever can
 * read its folder (what Wine, whose icacls does nothing, shows).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type ProgramOutput,
  readableByFolderNote,
  restrictToOwner,
} from "../../lib/storage/owner_only.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { generateIdentity, recipientFromIdentity } from "../../lib/crypto/age.ts";
import { exportKey } from "../../commands/key.ts";
import { syntheticSettings } from "../manage/helpers.ts";

const isWindows = Deno.build.os === "windows";
/** Wine runs Windows programs here: it has no ACLs and its icacls changes nothing. */
const underWine = isWindows && Deno.env.get("WINELOADER") !== undefined;

/** A fake `icacls` that answers the change with `code` and lists `acl`, recording its calls. */
function fakeIcacls(code: number, acl: string, stderr = "") {
  const calls: string[][] = [];
  const run = (program: string, args: string[]): ProgramOutput => {
    calls.push([program, ...args]);
    return args.length === 1 ? { code: 0, stdout: acl, stderr: "" } : { code, stdout: "", stderr };
  };
  return { calls, run };
}

Deno.test("restrictToOwner grants the user alone access on Windows, and nothing elsewhere", () => {
  const done = fakeIcacls(0, "C:\\s\\db.sqlite3 PC\\ann:(F)\n\nSuccessfully processed 1 files");
  assert.equal(restrictToOwner("C:\\s\\db.sqlite3", "windows", done.run, "ann"), undefined);
  assert.deepEqual(done.calls, [
    ["icacls", "C:\\s\\db.sqlite3", "/inheritance:r", "/grant:r", "ann:F"],
    ["icacls", "C:\\s\\db.sqlite3"],
  ]);
  for (const os of ["linux", "darwin"] as const) {
    const none = fakeIcacls(0, "");
    assert.equal(restrictToOwner("/s/db", os, none.run, "ann"), undefined);
    assert.deepEqual(none.calls, [], "mode 0600 does it");
  }
});

Deno.test("restrictToOwner says why when the file could not be limited to the user", () => {
  const wine = fakeIcacls(0, "");
  assert.match(restrictToOwner("C:\\k", "windows", wine.run, "ann") ?? "", /does not show/);
  const other = fakeIcacls(0, "C:\\k PC\\joanna:(F)");
  assert.match(restrictToOwner("C:\\k", "windows", other.run, "ann") ?? "", /does not show/);
  const denied = fakeIcacls(5, "", "Access is denied.\r\n");
  assert.equal(
    restrictToOwner("C:\\k", "windows", denied.run, "ann"),
    "icacls failed (exit 5: Access is denied.)",
  );
  const missing = () => {
    throw new Deno.errors.NotFound("program not found");
  };
  assert.equal(restrictToOwner("C:\\k", "windows", missing, "ann"), "icacls is not available");
  assert.equal(restrictToOwner("C:\\k", "windows", wine.run, ""), "USERNAME is not set");
  assert.match(
    readableByFolderNote("C:\\k", "icacls is not available"),
    /^note: C:\\k is readable by whoever can read its folder: .*\(icacls is not available\)/,
  );
});

Deno.test("the state database and an exported key are the owner's, or a note says not", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-owner-" });
  const errors: string[] = [];
  const consoleError = console.error;
  try {
    const identity = generateIdentity();
    const stateDb = join(root, "state.sqlite3");
    const catalog = Catalog.create(stateDb, syntheticSettings(), {
      identity,
      recipients: [recipientFromIdentity(identity)],
    });
    const notOwnerOnly = catalog.notOwnerOnly;
    catalog.close();
    console.error = (line: string) => errors.push(line);
    exportKey(stateDb, join(root, "key.txt"));
    console.error = consoleError;
    assert.match(await Deno.readTextFile(join(root, "key.txt")), /^AGE-SECRET-KEY-1/m);
    const notes = errors.filter((line) => line.startsWith("note:"));
    if (!isWindows) {
      assert.equal(notOwnerOnly, undefined);
      assert.deepEqual(notes, []);
      assert.equal((await Deno.stat(stateDb)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(join(root, "key.txt"))).mode! & 0o777, 0o600);
    } else if (underWine) {
      assert.match(notOwnerOnly ?? "", /access list does not show the change/);
      assert.equal(notes.length, 1, errors.join("\n"));
      assert.match(notes[0], /key\.txt is readable by whoever can read its folder/);
    } else {
      assert.equal(notOwnerOnly, undefined);
      assert.deepEqual(notes, []);
    }
  } finally {
    console.error = consoleError;
    await Deno.remove(root, { recursive: true });
  }
});
