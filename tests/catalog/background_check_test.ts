/**
 * The damage check of a state database run on a worker (`OpenOptions.checkLater`): it finds what
 * the check at open finds, and a restore waits for it before it writes anything.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Catalog, CatalogError } from "../../lib/catalog/catalog.ts";
import { runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { backupToSandbox, makeSandbox } from "../../testing/sandbox.ts";

/**
 * Spoils the first page of the index of files by path, as a bad disk or a hostile hand might: the
 * catalog still opens and its files read by id, but SQLite's check finds the damage.
 */
function damagePathIndex(path: string): void {
  const db = new DatabaseSync(path);
  const pageSize = (db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size;
  const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'files_by_path'")
    .get() as { rootpage: number }).rootpage;
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  const file = Deno.openSync(path, { read: true, write: true });
  try {
    // The page's type byte: 0x0a and 0x02 are index pages, 0x01 is none.
    file.seekSync((root - 1) * pageSize, Deno.SeekMode.Start);
    file.writeSync(new Uint8Array([0x01]));
  } finally {
    file.close();
  }
}

Deno.test("a damaged catalog is found by the background check, and a restore writes nothing", async () => {
  const box = await makeSandbox("glacier-damaged-catalog-");
  try {
    for (let folder = 0; folder < 20; folder++) {
      await Deno.mkdir(join(box.src, `d${folder}`));
      for (let i = 0; i < 100; i++) {
        await Deno.writeTextFile(join(box.src, `d${folder}`, `file-${i}.txt`), `${folder} ${i}`);
      }
    }
    const backup = await backupToSandbox(box);
    assert.equal(backup.code, 0, backup.stderr);
    const stateDb = stateDbFrom(backup);
    const sound = join(box.root, "sound.sqlite3");
    await Deno.copyFile(stateDb, sound);

    // An undamaged catalog: the check, run later, finds nothing.
    const good = Catalog.open(sound, { checkLater: true });
    try {
      await good.checked();
    } finally {
      good.close();
    }

    damagePathIndex(stateDb);
    assert.throws(() => Catalog.open(stateDb), /is damaged: /);
    const later = Catalog.open(stateDb, { checkLater: true });
    try {
      assert.equal(later.settings().sourceDirs.length, 1, "it reads while the check runs");
      await assert.rejects(later.checked(), (error) => {
        assert.ok(error instanceof CatalogError);
        assert.match(error.message, /^state database .* is damaged: /);
        return true;
      });
    } finally {
      later.close();
    }

    const dest = join(box.root, "restored");
    const restore = await runCli(["restore", stateDb, "--to", dest, "--yes"]);
    assert.notEqual(restore.code, 0);
    assert.match(restore.stderr, /is damaged: /);
    assert.doesNotMatch(restore.stderr, /\n\s+at /, "no stack trace");
    const written = [...(await listTree(dest))];
    assert.deepEqual(written, [], "nothing restored from a damaged catalog");
  } finally {
    await box.cleanup();
  }
});

/** Every path under `dir` (none when it does not exist). */
async function listTree(dir: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      found.push(entry.name);
      if (entry.isDirectory) {
        for (const inner of await listTree(join(dir, entry.name))) {
          found.push(`${entry.name}/${inner}`);
        }
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found;
}
