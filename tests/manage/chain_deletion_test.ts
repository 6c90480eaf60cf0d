/**
 * Deletion stays safe with incremental backups (`backup --base`): `delete` refuses a volume a later
 * backup still needs (known from its state database, or from its catalog copy in the bucket)
 * unless --force, and `forget` keeps every volume a kept incremental needs, saying how much of it
 * is dead data; the kept incremental still restores.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { assertKilled, runCli } from "../../testing/run_cli.ts";
import { backupToSandboxKilledAt } from "../../testing/sandbox.ts";
import { copyTree, diffTrees, makeTree, randomBytes } from "../../testing/tree.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import type { Storage } from "../../lib/storage/storage.ts";
import { volumesNeeded } from "../../lib/catalog/chain.ts";
import { formatBytes } from "../../lib/archive/units.ts";
import { backupToFolder, readCatalog, sandbox, withMotoBucket } from "./helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";

const SPLIT = ["--volume-size", "1MiB"];
/** The one file the incremental keeps: most of the full backup's bytes are gone by then. */
const KEPT = "keep/hello.txt";

/**
 * Three big files in `big/` (a volume each, about) and one small file in `keep/`: once `big/` is
 * gone, the volumes of `a` and `b` hold nothing the incremental needs, and the one holding `c`
 * and the kept file is mostly dead data.
 */
async function makeChainTree(src: string): Promise<void> {
  await Deno.mkdir(join(src, "big"));
  await Deno.mkdir(join(src, "keep"));
  for (const name of ["a", "b", "c"]) {
    await Deno.writeFile(join(src, "big", `${name}.bin`), randomBytes(700_000));
  }
  await Deno.writeTextFile(join(src, KEPT), "hello\n");
}

/** The change before the incremental: `big/` is deleted. */
function dropBig(src: string): Promise<void> {
  return Deno.remove(join(src, "big"), { recursive: true });
}

/** Copies the tree as it is now (modes and times kept), to compare restores with. */
async function snapshotTree(src: string, to: string): Promise<void> {
  await copyTree(src, to);
}

/** Every key in a bucket, sorted. */
async function bucketKeys(storage: Storage): Promise<string[]> {
  return (await Array.fromAsync(storage.listObjects(""), (o) => o.key)).sort();
}

/** What a chain of a full backup and one incremental looks like, read from their catalogs. */
function chainFacts(full: string, incremental: string) {
  const fullId = readCatalog(full, (c) => c.settings().backupId);
  const incrementalId = readCatalog(incremental, (c) => c.settings().backupId);
  const fullVolumes = readCatalog(full, (c) => c.volumes());
  const neededKeys = new Set(
    readCatalog(incremental, (c) => volumesNeeded(c)).filter((v) => v.backupId === fullId)
      .map((v) => v.objectKey),
  );
  const kept = readCatalog(incremental, (c) => [...c.eachFile()].find((f) => f.type === "file"))!;
  return {
    fullId,
    incrementalId,
    /** The full backup's volume that holds the file the incremental kept. */
    holding: fullVolumes.find((v) =>
      v.id === readCatalog(full, (c) => [...c.eachFile()].find((f) => f.path === kept.path))!
        .volumeId
    )!,
    needed: fullVolumes.filter((v) => neededKeys.has(v.objectKey)),
    unneeded: fullVolumes.filter((v) => !neededKeys.has(v.objectKey)),
    keptPath: kept.path,
  };
}

const escape = (text: string) => text.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&");

Deno.test("delete refuses a volume an incremental needs (state database or catalog copy); forget keeps it, counts its dead data, and the incremental still restores", async () => {
  const box = await sandbox();
  try {
    await makeChainTree(box.src);
    const full = await backupToFolder(box, ...SPLIT);
    await dropBig(box.src);
    const incremental = await backupToFolder(box, ...SPLIT, "--base", full);
    const moment = join(box.root, "moment");
    await snapshotTree(box.src, moment);
    const storage = createLocalStorage(box.bucket);
    const facts = chainFacts(full, incremental);
    assert.equal(facts.keptPath, join(box.src, KEPT));
    assert.ok(facts.needed.includes(facts.holding));
    assert.ok(facts.unneeded.length >= 1, "the big files' volumes are not needed");

    const refused = await runCli(["delete", "--files", facts.holding.name, "--yes", full]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(
        `${facts.holding.name} is still needed by backup ${facts.incrementalId}: it would lose ` +
          `\\d+ entr(y|ies) \\(${escape(facts.keptPath)}`,
      ),
    );
    assert.match(refused.stderr, /1 volume still needed by other backups .*--force deletes/);
    assert.ok(await storage.headObject(facts.holding.objectKey), "nothing deleted");
    assert.equal(readCatalog(full, (c) => c.volume(facts.holding.id).state), "uploaded");

    // Without the incremental's state database, its catalog copy in the bucket tells the same.
    const away = join(box.root, basename(incremental));
    await Deno.rename(incremental, away);
    const fromCopy = await runCli(["delete", "--files", facts.holding.name, "--yes", full]);
    assert.equal(fromCopy.code, 2, fromCopy.stderr);
    assert.match(
      fromCopy.stderr,
      new RegExp(`still needed by backup ${facts.incrementalId} \\(from its catalog copy\\)`),
    );
    assert.ok(await storage.headObject(facts.holding.objectKey));
    await Deno.rename(away, incremental);

    const forget = (...extra: string[]) =>
      runCli(["forget", "--state-dir", box.state, "--keep-last", "1", ...extra]);
    const keysBefore = await bucketKeys(storage);
    const dry = await forget("--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stderr,
      new RegExp(`keep   ${facts.incrementalId} \\(last\\)\n.*forget ${facts.fullId}`, "s"),
    );
    for (const v of facts.unneeded) {
      assert.match(
        dry.stderr,
        new RegExp(`${v.name} \\(.*\\): will be deleted \\(backup ${facts.fullId}\\)`),
      );
    }
    for (const v of facts.needed) {
      assert.doesNotMatch(
        dry.stderr,
        new RegExp(`${v.name} \\(.*\\): will be deleted \\(backup ${facts.fullId}`),
      );
    }
    assert.match(
      dry.stderr,
      new RegExp(
        // big/c.bin is the one dead entry of the volume that holds the kept file.
        `kept ${facts.holding.name} \\(backup ${facts.fullId}\\): ` +
          `${escape(formatBytes(700_000))} in 1 entry that no ` +
          "kept backup needs \\(dead data\\)",
      ),
    );
    assert.deepEqual(await bucketKeys(storage), keysBefore, "a dry run changes nothing");

    const done = await forget("--yes");
    assert.equal(done.code, 0, done.stderr);
    for (const v of facts.needed) assert.ok(await storage.headObject(v.objectKey), v.name);
    for (const v of facts.unneeded) {
      assert.equal(await storage.headObject(v.objectKey), undefined, `${v.name} is deleted`);
    }
    // The full backup's catalog copy stays: the kept incremental's chain links to it.
    assert.match(
      done.stderr,
      new RegExp(`catalog copy of ${facts.fullId} stays, marked forgotten`),
    );
    assert.ok(await storage.headObject(`${facts.fullId}/catalog.sqlite3.age`));
    assert.ok(await storage.headObject(`${facts.incrementalId}/catalog.sqlite3.age`));
    const aside = join(box.state, "forgotten", basename(full));
    assert.deepEqual(
      readCatalog(aside, (c) => c.volumes().map((v) => [v.name, v.state])),
      facts.needed.concat(facts.unneeded).sort((a, b) => a.id - b.id).map((v) => [
        v.name,
        facts.needed.includes(v) ? "uploaded" : "deleted",
      ]),
    );

    // The kept incremental restores its moment, from its state database and from the bucket.
    const local = join(box.root, "restored-local");
    const restored = await runCli(["restore", incremental, "--to", local, "--yes"]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(await diffTrees(moment, join(local, archivePath(box.src))), []);
    const keyFile = join(box.root, "key.txt");
    await Deno.writeTextFile(keyFile, (await runCli(["key", "export", incremental])).stdout);
    const remote = join(box.root, "restored-remote");
    const fromBucket = await runCli([
      "restore",
      "--bucket",
      `file://${box.bucket}`,
      "--backup-id",
      facts.incrementalId,
      "--identity",
      keyFile,
      "--state-dir",
      join(box.root, "no-state"),
      "--to",
      remote,
      "--yes",
    ]);
    assert.equal(fromBucket.code, 0, fromBucket.stderr);
    assert.deepEqual(await diffTrees(moment, join(remote, archivePath(box.src))), []);

    // The chain goes on after forget: an incremental on the kept one.
    const next = await backupToFolder(box, ...SPLIT, "--base", incremental);
    assert.deepEqual(
      readCatalog(next, (c) => c.chain().map((link) => link.backupId)),
      [facts.fullId, facts.incrementalId, readCatalog(next, (c) => c.settings().backupId)],
    );
    // Forgetting every backup leaves nothing: no volume, no catalog copy, not even the links.
    const all = await runCli(["forget", "--state-dir", box.state, "--forget-all", "--yes"]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(await bucketKeys(storage), []);
  } finally {
    await box.cleanup();
  }
});

Deno.test("forget on moto keeps the volumes a kept incremental needs and deletes the rest", async () => {
  await withMotoBucket(async ({ box, storage, env, backup }) => {
    await makeChainTree(box.src);
    const full = await backup("--storage-class", "DEEP_ARCHIVE", ...SPLIT);
    await dropBig(box.src);
    const incremental = await backup("--storage-class", "DEEP_ARCHIVE", ...SPLIT, "--base", full);
    const facts = chainFacts(full, incremental);
    const result = await runCli(
      ["forget", "--state-dir", box.state, "--keep-last", "1", "--yes"],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /early-deletion charge of about/);
    const keys = await bucketKeys(storage);
    for (const v of facts.needed) assert.ok(keys.includes(v.objectKey), `${v.name} kept`);
    for (const v of facts.unneeded) assert.ok(!keys.includes(v.objectKey), `${v.name} deleted`);
    const own = readCatalog(incremental, (c) => c.ownVolumes().map((v) => v.objectKey));
    for (const key of own) assert.ok(keys.includes(key), key);
    assert.ok(keys.includes(`${facts.fullId}/catalog.sqlite3.age`), "a link of a kept chain");
  });
});

Deno.test("delete --force deletes a volume an incremental needs, saying what it loses (moto, catalog copy only)", async () => {
  await withMotoBucket(async ({ box, storage, env, backup }) => {
    await makeChainTree(box.src);
    const full = await backup("--test-run", ...SPLIT);
    await dropBig(box.src);
    const incremental = await backup("--test-run", ...SPLIT, "--base", full);
    const facts = chainFacts(full, incremental);
    // Made on another machine: only its catalog copy is in the bucket.
    await Deno.remove(incremental);

    const refused = await runCli(["delete", "--files", facts.holding.name, "--yes", full], {
      env,
    });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(
        `still needed by backup ${facts.incrementalId} \\(from its catalog copy\\): it would ` +
          `lose \\d+ entr(y|ies) \\(${escape(facts.keptPath)}`,
      ),
    );
    assert.ok(await storage.headObject(facts.holding.objectKey));

    const forced = await runCli(
      ["delete", "--files", facts.holding.name, "--yes", "--force", full],
      { env },
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, new RegExp(`warn.*still needed by backup ${facts.incrementalId}`));
    assert.match(forced.stderr, new RegExp(`deleted ${facts.holding.name}`));
    assert.equal(await storage.headObject(facts.holding.objectKey), undefined);
    assert.equal(readCatalog(full, (c) => c.volume(facts.holding.id).state), "deleted");
  });
});

Deno.test("forget keeps the base of an unfinished incremental, whatever the policy says", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src);
    const base = await backupToFolder(box);
    await Deno.writeTextFile(join(box.src, "new.txt"), "new\n");
    const killed = await backupToSandboxKilledAt(box, "after-volume-built", "--base", base);
    assertKilled(killed);
    await backupToFolder(box);
    const storage = createLocalStorage(box.bucket);
    const keysBefore = await bucketKeys(storage);
    const baseId = readCatalog(base, (c) => c.settings().backupId);
    const result = await runCli(
      ["forget", "--state-dir", box.state, "--keep-last", "1", "--yes"],
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`keep   ${baseId} \\(base of unfinished \\d{8}_\\d{6}\\)`),
    );
    assert.match(result.stderr, /keep {3}\d{8}_\d{6} \(unfinished\)/);
    assert.match(result.stderr, /nothing to forget/);
    assert.deepEqual(await bucketKeys(storage), keysBefore);
    assert.equal(readCatalog(base, (c) => c.phase()), "done");
    // And the incremental resumes on its unchanged base.
    const resumed = await runCli(["resume", stateDbOf(killed.stdout)]);
    assert.equal(resumed.code, 0, resumed.stderr);
  } finally {
    await box.cleanup();
  }
});

/** The state database a killed backup printed first. */
function stateDbOf(stdout: string): string {
  return stdout.split("\n")[0];
}

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
