/**
 * Deletion stays safe with incremental backups: `delete` refuses a volume a later backup still
 * needs (known from its state database, or from its catalog copy in the bucket) unless --force,
 * and `forget` keeps every volume a kept incremental needs, saying how much of it is dead data.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { runCli } from "../../testing/run_cli.ts";
import { makeTree } from "../../testing/tree.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import type { FileRecord } from "../../lib/catalog/catalog.ts";
import {
  backupToFolder,
  craftIncremental,
  readCatalog,
  sandbox,
  withMotoBucket,
} from "./helpers.ts";

/** A full backup of two big files and some small ones, in at least two volumes. */
const TREE = { bigFiles: [700_000, 700_000], smallFiles: 10 };
const SPLIT = ["--volume-size", "1MiB"];

/** The first regular file of volume 1 (the one file the incremental keeps of it). */
function firstFileOf(stateDb: string, volumeId: number): FileRecord {
  return readCatalog(stateDb, (c) => c.filesOfVolume(volumeId, 0, 100_000))
    .find((f) => f.type === "file" && f.size > 0)!;
}

Deno.test("delete refuses a volume an incremental needs, from its state database or its catalog copy; forget keeps it and counts its dead data", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src, TREE);
    const full = await backupToFolder(box, ...SPLIT);
    const storage = createLocalStorage(box.bucket);
    const volumes = readCatalog(full, (c) => c.volumes());
    assert.ok(volumes.length >= 2, `${volumes.length} volumes`);
    const [needed, unneeded] = volumes;
    // The incremental keeps one file of volume 1: most of that volume's files are gone.
    const kept = firstFileOf(full, needed.id);
    const incremental = await craftIncremental(full, (f) => f.id === kept.id, { storage });
    const incrementalId = readCatalog(incremental, (c) => c.settings().backupId);
    const fullId = readCatalog(full, (c) => c.settings().backupId);

    const refused = await runCli(["delete", "--files", needed.name, "--yes", full]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(
        `${needed.name} is still needed by backup ${incrementalId}: it would lose 1 file ` +
          `\\(${kept.path.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\)`,
      ),
    );
    assert.match(refused.stderr, /1 volume still needed by other backups .*--force deletes/);
    assert.ok(await storage.headObject(needed.objectKey), "nothing deleted");
    assert.equal(readCatalog(full, (c) => c.volume(needed.id).state), "uploaded");

    // Without the incremental's state database, its catalog copy in the bucket tells the same.
    const away = join(box.root, basename(incremental));
    await Deno.rename(incremental, away);
    const fromCopy = await runCli(["delete", "--files", needed.name, "--yes", full]);
    assert.equal(fromCopy.code, 2, fromCopy.stderr);
    assert.match(
      fromCopy.stderr,
      new RegExp(
        `still needed by backup ${incrementalId} \\(from its catalog copy\\): it would lose 1 file`,
      ),
    );
    assert.ok(await storage.headObject(needed.objectKey));
    await Deno.rename(away, incremental);

    const forget = (...extra: string[]) =>
      runCli(["forget", "--state-dir", box.state, "--keep-last", "1", ...extra]);
    const keysBefore = await Array.fromAsync(storage.listObjects(""), (o) => o.key);
    const dry = await forget("--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stderr,
      new RegExp(`keep   ${incrementalId} \\(last\\)\n.*forget ${fullId}`, "s"),
    );
    assert.match(
      dry.stderr,
      new RegExp(`${unneeded.name} \\(.*\\): will be deleted \\(backup ${fullId}\\)`),
    );
    assert.doesNotMatch(dry.stderr, new RegExp(`${needed.name} \\(.*\\): will be deleted`));
    const deadFiles = readCatalog(
      full,
      (c) =>
        c.filesOfVolume(needed.id, 0, 100_000).filter((f) =>
          f.id !== kept.id && f.state === "stored"
        ),
    );
    const deadBytes = deadFiles.reduce((n, f) => n + f.size, 0);
    assert.ok(deadBytes > 0);
    assert.match(
      dry.stderr,
      new RegExp(
        `kept ${needed.name} \\(backup ${fullId}\\): .* in ${deadFiles.length} files that no ` +
          "kept backup needs \\(dead data\\)",
      ),
    );
    assert.deepEqual(await Array.fromAsync(storage.listObjects(""), (o) => o.key), keysBefore);

    const done = await forget("--yes");
    assert.equal(done.code, 0, done.stderr);
    assert.ok(await storage.headObject(needed.objectKey), "the incremental's volume is kept");
    for (const v of volumes.slice(1)) {
      assert.equal(await storage.headObject(v.objectKey), undefined, `${v.name} is deleted`);
    }
    assert.equal(await storage.headObject(`${fullId}/catalog.sqlite3.age`), undefined);
    assert.ok(await storage.headObject(`${incrementalId}/catalog.sqlite3.age`));
    const aside = join(box.state, "forgotten", basename(full));
    assert.deepEqual(
      readCatalog(aside, (c) => c.volumes().map((v) => v.state)),
      volumes.map((_, i) => i === 0 ? "uploaded" : "deleted"),
    );
    assert.equal(readCatalog(incremental, (c) => c.volume(needed.id).state), "uploaded");
  } finally {
    await box.cleanup();
  }
});

Deno.test("delete --force deletes a volume an incremental needs, saying what it loses (moto, catalog copy only)", async () => {
  await withMotoBucket(async ({ box, storage, env, backup }) => {
    await makeTree(box.src, TREE);
    const full = await backup("--test-run", ...SPLIT);
    const [needed] = readCatalog(full, (c) => c.volumes());
    const files = readCatalog(full, (c) => c.filesOfVolume(needed.id, 0, 100_000))
      .filter((f) => f.state === "stored");
    const incremental = await craftIncremental(full, (f) => f.volumeId === needed.id, {
      storage,
    });
    const incrementalId = readCatalog(incremental, (c) => c.settings().backupId);
    // Made on another machine: only its catalog copy is in the bucket.
    await Deno.remove(incremental);

    const refused = await runCli(["delete", "--files", needed.name, "--yes", full], { env });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(
        `still needed by backup ${incrementalId} \\(from its catalog copy\\): it would lose ` +
          `${files.length} files \\(.*, \\.\\.\\.\\)`,
      ),
    );
    assert.ok(await storage.headObject(needed.objectKey));

    const forced = await runCli(["delete", "--files", needed.name, "--yes", "--force", full], {
      env,
    });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, new RegExp(`warn.*still needed by backup ${incrementalId}`));
    assert.match(forced.stderr, new RegExp(`deleted ${needed.name}`));
    assert.equal(await storage.headObject(needed.objectKey), undefined);
    assert.equal(readCatalog(full, (c) => c.volume(needed.id).state), "deleted");
  });
});

Deno.test("forget keeps the base of an unfinished incremental, whatever the policy says", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src);
    const base = await backupToFolder(box);
    const unfinished = await craftIncremental(base, () => true, { unfinished: true });
    await backupToFolder(box);
    const ids = [base, unfinished].map((db) => readCatalog(db, (c) => c.settings().backupId));
    const storage = createLocalStorage(box.bucket);
    const keysBefore = await Array.fromAsync(storage.listObjects(""), (o) => o.key);
    const result = await runCli(
      ["forget", "--state-dir", box.state, "--keep-last", "1", "--yes"],
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`keep   ${ids[0]} \\(base of unfinished ${ids[1]}\\)`));
    assert.match(result.stderr, new RegExp(`keep   ${ids[1]} \\(unfinished\\)`));
    assert.match(result.stderr, /nothing to forget/);
    assert.deepEqual(await Array.fromAsync(storage.listObjects(""), (o) => o.key), keysBefore);
    assert.equal(readCatalog(base, (c) => c.phase()), "done");
  } finally {
    await box.cleanup();
  }
});

Deno.test("delete is not held back by backups of other chains in the bucket (another key, or unencrypted)", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src);
    const encrypted = await backupToFolder(box);
    const plain = await backupToFolder(box, "--no-encrypt");
    // Two backups made elsewhere: only their catalog copies are in the bucket.
    const elsewhere = join(box.root, "elsewhere");
    await backupToFolder(box, "--state-dir", elsewhere);
    await backupToFolder(box, "--state-dir", elsewhere, "--no-encrypt");
    const storage = createLocalStorage(box.bucket);
    for (const db of [encrypted, plain]) {
      const [volume] = readCatalog(db, (c) => c.volumes());
      const result = await runCli(["delete", "--files", volume.name, "--yes", db]);
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /needed|cannot tell/);
      assert.equal(await storage.headObject(volume.objectKey), undefined);
    }
  } finally {
    await box.cleanup();
  }
});
