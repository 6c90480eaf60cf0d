/**
 * The README's threat model, claim by claim, tried as an attacker would: what someone who can
 * read or write the bucket but has no key can learn and change, and where the local state
 * database is the only defence (a forged catalog copy for a `--recipient` backup).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { generateIdentity, recipientFromIdentity } from "../../lib/crypto/age.ts";
import { backupToSandbox, makeSandbox, type Sandbox } from "../../testing/sandbox.ts";
import { type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { seededRandom } from "../../testing/seeded_random.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needs, where } from "../../testing/platform.ts";

/** Every file under `dir`, with its bytes. */
async function* filesUnder(dir: string): AsyncGenerator<{ path: string; bytes: Uint8Array }> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* filesUnder(path);
    else if (entry.isFile) yield { path, bytes: await Deno.readFile(path) };
  }
}

/** The files under `dir` whose bytes contain `needle`. */
async function filesHolding(dir: string, needle: Uint8Array): Promise<string[]> {
  const found: string[] = [];
  for await (const { path, bytes } of filesUnder(dir)) {
    if (indexOfBytes(bytes, needle) >= 0) found.push(path);
  }
  return found;
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function randomBytes(seed: number, length: number): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

/** Backs the sandbox up and returns its state database and backup id. */
async function backup(box: Sandbox, ...extra: string[]): Promise<{ stateDb: string; id: string }> {
  const result = await backupToSandbox(box, ...extra);
  assert.equal(result.code, 0, result.stderr);
  const stateDb = stateDbFrom(result);
  const id = /(\d{8}_\d{6})_backup_statedb\.sqlite3$/.exec(stateDb)![1];
  return { stateDb, id };
}

/** Runs a restore without local state, from the bucket's catalog copy. */
function restoreFromCopy(box: Sandbox, id: string, keyFile: string, to: string) {
  return runCli([
    "restore",
    "--bucket",
    `file://${box.bucket}`,
    "--backup-id",
    id,
    "--identity",
    keyFile,
    "--state-dir",
    join(box.root, `fetched-${crypto.randomUUID()}`),
    "--to",
    to,
    "--yes",
  ]);
}

async function exportKey(stateDb: string, output: string): Promise<void> {
  const result = await runCli(["key", "export", stateDb, "--output", output]);
  assert.equal(result.code, 0, result.stderr);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Flips one byte in the middle of a file. */
async function flipByte(path: string): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[bytes.length >> 1] ^= 0x01;
  await Deno.writeFile(path, bytes);
}

function describe(result: CliResult): string {
  return `exit ${result.code}\n${result.stdout}${result.stderr}`;
}

Deno.test("without the key, the bucket shows neither file contents nor file names", async () => {
  const box = await makeSandbox("glacier-threat-");
  try {
    // Random bytes pass through zstd as they are, and the name is in the catalog copy: only
    // the encryption can hide them, as the --no-encrypt control shows.
    const content = randomBytes(7, 64 * 1024);
    const name = "quarterly-salaries-of-everyone.ods";
    await Deno.writeFile(join(box.src, name), content);
    const marker = content.subarray(30_000, 30_064);
    const nameBytes = new TextEncoder().encode(name);

    const encrypted = await backup(box);
    const plain = await backup(box, "--no-encrypt");
    assert.notEqual(encrypted.id, plain.id);

    assert.deepEqual(await filesHolding(join(box.bucket, encrypted.id), marker), []);
    assert.deepEqual(await filesHolding(join(box.bucket, encrypted.id), nameBytes), []);
    assert.ok((await filesHolding(join(box.bucket, plain.id), marker)).length > 0, "control");
    assert.ok(
      (await filesHolding(join(box.bucket, plain.id), nameBytes)).some((p) =>
        p.endsWith("catalog.sqlite3")
      ),
      "control: an unencrypted catalog copy lists names in clear",
    );
  } finally {
    await box.cleanup();
  }
});

Deno.test("a changed byte in a volume or the catalog copy is found, with or without local state", async () => {
  const box = await makeSandbox("glacier-threat-");
  try {
    await Deno.writeFile(join(box.src, "data.bin"), randomBytes(11, 256 * 1024));
    const { stateDb, id } = await backup(box);
    const keyFile = join(box.root, "key.txt");
    await exportKey(stateDb, keyFile);
    const [volume] = [...Deno.readDirSync(join(box.bucket, id))]
      .map((e) => e.name).filter((n) => n.endsWith(".tar.zst.age"));
    await flipByte(join(box.bucket, id, volume));

    const withState = await runCli(["restore", stateDb, "--to", join(box.root, "a"), "--yes"]);
    assert.equal(withState.code, 3, describe(withState));
    assert.match(withState.stderr, /SHA-256/);
    assert.equal(await exists(join(box.root, "a", archivePath(box.src), "data.bin")), false);

    const fromCopy = await restoreFromCopy(box, id, keyFile, join(box.root, "b"));
    assert.equal(fromCopy.code, 3, describe(fromCopy));
    assert.equal(await exists(join(box.root, "b", archivePath(box.src), "data.bin")), false);

    await flipByte(join(box.bucket, id, "catalog.sqlite3.age"));
    const badCopy = await restoreFromCopy(box, id, keyFile, join(box.root, "c"));
    assert.equal(badCopy.code, 3, describe(badCopy));
    assert.match(badCopy.stderr, new RegExp(`catalog copy ${id}/catalog\\.sqlite3\\.age`));
    assert.equal(await exists(join(box.root, "c", archivePath(box.src))), false);
  } finally {
    await box.cleanup();
  }
});

Deno.test(
  where(
    needs("age"),
    "a catalog copy forged with a --recipient public key: trusted without local state, refused with it",
    async () => {
      const box = await makeSandbox("glacier-threat-");
      try {
        const identity = generateIdentity();
        const recipient = recipientFromIdentity(identity);
        const keyFile = join(box.root, "me.key");
        await Deno.writeTextFile(keyFile, `${identity}\n`, { mode: 0o600 });
        await Deno.writeTextFile(join(box.src, "payroll.txt"), "the real payroll\n");
        await Deno.writeFile(join(box.src, "noise.bin"), randomBytes(3, 8192));
        const victim = await backup(
          box,
          join(box.root, "work", "out.tar"),
          "--recipient",
          recipient,
        );

        // The attacker knows only the public key and can write to the bucket: they back up a tree
        // of their own to it, relabel their state database as the victim's backup, encrypt it to
        // the public key and put it and their volumes in place of the victim's.
        const evil = await makeSandbox("glacier-threat-evil-");
        try {
          await Deno.writeTextFile(join(evil.src, "payroll.txt"), "the attacker's payroll\n");
          const forged = await backup(
            evil,
            join(evil.root, "work", "out.tar"),
            "--recipient",
            recipient,
          );
          const db = new DatabaseSync(forged.stateDb);
          const settings = JSON.parse(
            (db.prepare("SELECT value FROM meta WHERE key = 'settings'").get() as { value: string })
              .value,
          );
          settings.backupId = victim.id;
          db.prepare("UPDATE meta SET value = ? WHERE key = 'settings'").run(
            JSON.stringify(settings),
          );
          db.prepare("UPDATE volumes SET object_key = replace(object_key, ?, ?)").run(
            forged.id,
            victim.id,
          );
          db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
          db.close();
          const copy = join(box.bucket, victim.id, "catalog.sqlite3.age");
          const age = await new Deno.Command("age", {
            args: ["-r", recipient, "-o", copy, forged.stateDb],
          }).output();
          assert.equal(age.code, 0, new TextDecoder().decode(age.stderr));
          const victimSizes = new Map<string, number>();
          for (const entry of Deno.readDirSync(join(evil.bucket, forged.id))) {
            if (!entry.name.endsWith(".tar.zst.age")) continue;
            const target = join(box.bucket, victim.id, entry.name);
            victimSizes.set(target, (await Deno.stat(target)).size);
            await Deno.copyFile(join(evil.bucket, forged.id, entry.name), target);
          }
          const evilFile = (to: string) => join(to, archivePath(evil.src), "payroll.txt");

          // Without local state the forgery is believed: this is the limit the README states.
          const trusting = await restoreFromCopy(box, victim.id, keyFile, join(box.root, "a"));
          assert.equal(trusting.code, 0, describe(trusting));
          assert.equal(
            await Deno.readTextFile(evilFile(join(box.root, "a"))),
            "the attacker's payroll\n",
          );

          // The local state database knows each volume's SHA-256 and refuses the swapped one, even
          // padded to the size that database expects.
          for (const [target, size] of victimSizes) {
            const bytes = await Deno.readFile(target);
            assert.ok(bytes.length < size);
            const padded = new Uint8Array(size);
            padded.set(bytes);
            await Deno.writeFile(target, padded);
          }
          const checked = await runCli([
            "restore",
            victim.stateDb,
            "--identity",
            keyFile,
            "--to",
            join(box.root, "b"),
            "--yes",
          ]);
          assert.equal(checked.code, 3, describe(checked));
          assert.match(checked.stderr, /SHA-256/);
          assert.equal(await exists(evilFile(join(box.root, "b"))), false);
          assert.equal(
            await exists(join(box.root, "b", archivePath(box.src), "payroll.txt")),
            false,
          );
        } finally {
          await evil.cleanup();
        }
      } finally {
        await box.cleanup();
      }
    },
  ),
);
