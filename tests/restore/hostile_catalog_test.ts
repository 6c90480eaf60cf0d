/**
 * A catalog naming a volume `../../X` (a local state database edited by hand, or a catalog copy
 * forged in the bucket by someone who knows the backup's public key) is refused by every command
 * that opens it, before any path is made from the name: a file at `X`, outside `--to`, is never
 * deleted, appended to or replaced.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { catalogCopyKey } from "../../lib/archive/layout.ts";
import { createEncryptStream } from "../../lib/crypto/age.ts";
import { Logger } from "../../lib/cli/log.ts";
import { decryptFolder } from "../../lib/manage/decrypt.ts";
import { runCli } from "../../testing/run_cli.ts";
import { withFolderBucket } from "./helpers.ts";

const HOSTILE = "../../X";
const REFUSAL = /volume named "\.\.\/\.\.\/X"/;
const SENTINEL_TEXT = "the user's own file, outside --to";

/** Renames volume 1 of the catalog at `path`. */
function renameFirstVolume(path: string, name: string): void {
  const db = new DatabaseSync(path);
  try {
    db.prepare("UPDATE volumes SET name = ? WHERE id = 1").run(name);
  } finally {
    db.close();
  }
}

/** Places the file that `../../X` reaches from `DEST/.glacier-restore`; returns its path. */
async function plantSentinel(root: string): Promise<string> {
  const sentinel = join(root, "X");
  await Deno.writeTextFile(sentinel, SENTINEL_TEXT);
  return sentinel;
}

/** The names in `folder`, or [] when it does not exist. */
async function namesIn(folder: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(folder))).map((e) => e.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

Deno.test("a state database naming a volume ../../X is refused by every command, exit 2", async () => {
  await withFolderBucket(async ({ root, backup }) => {
    const stateDb = await backup();
    renameFirstVolume(stateDb, HOSTILE);
    const sentinel = await plantSentinel(root);
    const dest = join(root, "restored");
    // decrypt's folder is one level below DEST, so that `../../X` reaches the same file.
    const downloads = join(dest, "downloads");
    await Deno.mkdir(downloads, { recursive: true });
    const commands = [
      ["restore", stateDb, "--to", dest],
      ["restore", stateDb, "--to", dest, "--dry-run"],
      ["decrypt", stateDb, downloads],
      ["verify", stateDb],
      ["verify", stateDb, "--local", downloads],
      ["show", stateDb],
      ["estimate", stateDb],
      ["resume", stateDb],
      ["sync", stateDb],
    ];
    for (const args of commands) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, REFUSAL, args.join(" "));
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert.equal(await Deno.readTextFile(sentinel), SENTINEL_TEXT, args.join(" "));
    }
    assert.deepEqual(await namesIn(dest), ["downloads"]);
    assert.deepEqual(await namesIn(downloads), []);
  });
});

Deno.test("a forged catalog copy naming a volume ../../X is refused by restore --backup-id", async () => {
  await withFolderBucket(async ({ root, bucketDir, backup, restore }) => {
    const stateDb = await backup();
    const catalog = Catalog.open(stateDb);
    const settings = catalog.settings();
    const identity = catalog.identity()!;
    const recipients = catalog.recipients();
    catalog.close();
    // The forger knows only the public key: a catalog copy of their own, encrypted to it.
    const forged = join(root, "forged.sqlite3");
    const db = new DatabaseSync(stateDb);
    db.exec(`VACUUM INTO '${forged}'`);
    db.close();
    renameFirstVolume(forged, HOSTILE);
    const copy = join(bucketDir, catalogCopyKey(settings, true));
    await Deno.remove(copy);
    const output = await Deno.open(copy, { write: true, createNew: true, mode: 0o600 });
    await (await Deno.open(forged)).readable.pipeThrough(createEncryptStream(recipients))
      .pipeTo(output.writable);
    const keyFile = join(root, "me.key");
    await Deno.writeTextFile(keyFile, `${identity}\n`);
    const sentinel = await plantSentinel(root);
    const dest = join(root, "restored");
    const stateDir = join(root, "fetched");

    const result = await restore([
      "--bucket",
      `file://${bucketDir}`,
      "--backup-id",
      settings.backupId,
      "--identity",
      keyFile,
      "--state-dir",
      stateDir,
      "--to",
      dest,
    ]);
    // Bad input (2), or damage (3) once a damaged catalog copy is reported as such.
    assert.ok(result.code === 2 || result.code === 3, `${result.code}: ${result.stderr}`);
    assert.match(result.stderr, REFUSAL);
    assert.equal(await Deno.readTextFile(sentinel), SENTINEL_TEXT);
    assert.deepEqual(await namesIn(dest), []);
    // The forged copy is not kept as the backup's state database.
    assert.deepEqual((await namesIn(stateDir)).filter((n) => n.endsWith(".sqlite3")), []);
  });
});

Deno.test("decrypt checks each volume name itself before making a path of it", async () => {
  await withFolderBucket(async ({ root, backup }) => {
    const stateDb = await backup();
    const catalog = Catalog.open(stateDb);
    try {
      // A catalog that got past Catalog.open's check some other way.
      const volumes = catalog.volumes().map((v, i) => i === 0 ? { ...v, name: HOSTILE } : v);
      const hostile = Object.create(catalog, { volumes: { value: () => volumes } });
      const sentinel = await plantSentinel(root);
      const folder = join(root, "restored", "downloads");
      await Deno.mkdir(folder, { recursive: true });
      const outcome = await decryptFolder({
        catalog: hostile,
        folder,
        identities: [catalog.identity()!],
        log: Logger.terminalOnly(),
      });
      assert.equal(outcome, "refused");
      assert.equal(await Deno.readTextFile(sentinel), SENTINEL_TEXT);
      assert.deepEqual(await namesIn(folder), []);
    } finally {
      catalog.close();
    }
  });
});
