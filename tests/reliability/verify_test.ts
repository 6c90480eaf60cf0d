/**
 * `glacier verify` end to end: against moto (objects deleted, resized, stray objects and
 * unfinished uploads behind the catalog's back), on a catalog copy that is garbage, truncated or
 * another backup's, on volumes downloaded by hand (`--local`: a flipped byte, a truncated file, a
 * wrong identity, unencrypted and uncompressed volumes), on a damaged catalog, and on an
 * unfinished backup.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createBucket, type MotoServer, startMoto, testAwsEnv } from "../../testing/moto.ts";
import { makeTree, randomBytes } from "../../testing/tree.ts";
import { assertKilled, type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { download } from "../../testing/reference_restore.ts";
import { testStorage } from "../../testing/moto_sandbox.ts";
import { sh } from "../../testing/volumes.ts";
import { Catalog, type VolumeRecord } from "../../lib/catalog/catalog.ts";
import type { Storage } from "../../lib/storage/storage.ts";
import { multipartCount, storedParts } from "../../lib/verify/remote.ts";
import { encodeTarHeader } from "../../lib/archive/tar_header.ts";
import { concatBytes } from "../../testing/bytes.ts";
import { runCliWithin } from "../../testing/spawn_cli.ts";
import { fixChecksum, setBase256 } from "../archive/tar_test_helpers.ts";
import { needs, where } from "../../testing/platform.ts";

const MiB = 1024 * 1024;

interface Sandbox {
  root: string;
  src: string;
  env: Record<string, string>;
  backup(bucket: string, ...extra: string[]): Promise<CliResult>;
  verify(...args: string[]): Promise<CliResult>;
}

/** A temporary folder with a source tree, and runners with the AWS settings of `endpoint`. */
async function withSandbox(
  endpoint: string | undefined,
  fn: (box: Sandbox) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "glacier-verify-" });
  try {
    const src = join(root, "src");
    await Deno.mkdir(src);
    await makeTree(src, { bigFiles: [1.5 * MiB, 1.5 * MiB, 200_000], smallFiles: 40 });
    const env = {
      ...(endpoint ? testAwsEnv(endpoint) : {}),
      AWS_CONFIG_FILE: join(root, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(root, "no-aws-credentials"),
    };
    await fn({
      root,
      src,
      env,
      backup: (bucket, ...extra) =>
        runCli([
          "backup",
          "--src-dirs",
          src,
          "--bucket",
          bucket,
          "--test-run",
          "--volume-size",
          "1MiB",
          "--state-dir",
          join(root, "state"),
          ...extra,
        ], { env }),
      verify: (...args) => runCli(["verify", ...args], { env }),
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function withMoto(fn: (moto: MotoServer) => Promise<void>): Promise<void> {
  const moto = await startMoto();
  try {
    await fn(moto);
  } finally {
    await moto.stop();
  }
}

function volumesOf(stateDb: string): VolumeRecord[] {
  const catalog = Catalog.open(stateDb);
  try {
    return catalog.volumes();
  } finally {
    catalog.close();
  }
}

function problemLines(result: CliResult): string[] {
  return result.stdout.split("\n").filter((line) => line.startsWith("problem: "));
}

/** Downloads every volume of the backup into `folder`, under its own name. */
async function downloadAll(stateDb: string, storage: Storage, folder: string) {
  await Deno.mkdir(folder, { recursive: true });
  for (const v of volumesOf(stateDb)) await download(storage, v.objectKey, join(folder, v.name));
}

Deno.test("verify passes on a fresh backup and finds objects deleted, resized, stray or missing", async () => {
  await withMoto(async (moto) => {
    await withSandbox(moto.endpoint, async ({ backup, verify }) => {
      await createBucket(moto.endpoint, "verify-remote");
      const made = await backup("verify-remote");
      assert.equal(made.code, 0, made.stderr);
      const stateDb = stateDbFrom(made);
      const volumes = volumesOf(stateDb);
      assert.ok(volumes.length >= 3, `${volumes.length} volumes`);

      const clean = await verify(stateDb);
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.deepEqual(problemLines(clean), []);
      assert.match(clean.stdout, /no problems found/);
      assert.match(clean.stdout, new RegExp(`checked ${volumes.length} uploaded volumes in s3://`));

      const storage = testStorage(moto.endpoint, "verify-remote");
      const [first, second] = volumes;
      await storage.deleteObject(first.objectKey);
      await storage.putObject(second.objectKey, randomBytes(1000), "STANDARD");
      const folder = first.objectKey.slice(0, first.objectKey.lastIndexOf("/") + 1);
      await storage.putObject(`${folder}stray.bin`, randomBytes(10), "STANDARD");
      const upload = await storage.createMultipartUpload(`${folder}half.bin`, "STANDARD");
      await storage.deleteObject(`${folder}catalog.sqlite3.age`);

      const damaged = await verify(stateDb);
      assert.equal(damaged.code, 1, damaged.stdout + damaged.stderr);
      assert.deepEqual(problemLines(damaged), [
        `problem: ${first.name}: object ${first.objectKey} is missing from s3://verify-remote ` +
        `at ${moto.endpoint}`,
        `problem: ${second.name}: object ${second.objectKey} has 1000 bytes, the catalog says ` +
        `${second.size}`,
        `problem: ${folder}stray.bin: object not in the catalog (10 bytes)`,
        `problem: ${folder}catalog.sqlite3.age: the catalog copy is missing from the bucket (a ` +
        `lost state database could not be replaced from it)`,
        `problem: ${folder}half.bin: unfinished multipart upload ${upload} (billed until aborted)`,
      ]);
      assert.match(damaged.stdout, /verify \d{8}_\d{6}: 5 problems found\n$/);
    });
  });
});

Deno.test("verify --bucket and --endpoint override the stored settings", async () => {
  await withMoto(async (moto) => {
    await withSandbox(moto.endpoint, async ({ backup, verify }) => {
      await createBucket(moto.endpoint, "verify-first");
      await createBucket(moto.endpoint, "verify-empty");
      const made = await backup("verify-first");
      assert.equal(made.code, 0, made.stderr);
      const stateDb = stateDbFrom(made);
      const elsewhere = await verify(stateDb, "--bucket", "verify-empty");
      assert.equal(elsewhere.code, 1);
      const lines = problemLines(elsewhere);
      assert.equal(lines.length, volumesOf(stateDb).length + 1, lines.join("\n"));
      assert.equal(
        lines.filter((l) => l.includes("is missing from s3://verify-empty")).length,
        volumesOf(stateDb).length,
      );
      assert.match(lines.at(-1)!, /catalog\.sqlite3\.age: the catalog copy is missing/);
      const explicit = await verify(stateDb, "--endpoint", moto.endpoint, "--region", "eu-west-1");
      assert.equal(explicit.code, 0, explicit.stdout + explicit.stderr);
    });
  });
});

Deno.test(
  where(
    needs("bash", "age-keygen"),
    "verify --local passes on intact downloads, finds a flipped byte and a truncation",
    async () => {
      await withMoto(async (moto) => {
        await withSandbox(moto.endpoint, async ({ root, backup, verify }) => {
          await createBucket(moto.endpoint, "verify-local");
          const made = await backup("verify-local");
          assert.equal(made.code, 0, made.stderr);
          const stateDb = stateDbFrom(made);
          const volumes = volumesOf(stateDb);
          const folder = join(root, "downloads");
          await downloadAll(stateDb, testStorage(moto.endpoint, "verify-local"), folder);

          const intact = await verify(stateDb, "--local", folder);
          assert.equal(intact.code, 0, intact.stdout + intact.stderr);
          assert.match(
            intact.stdout,
            new RegExp(
              `checked ${volumes.length} volumes in ${folder}: size, SHA-256, age authentication, ` +
                `zstd decompression, TAR structure\n`,
            ),
          );

          // The exported key works as --identity; a key of another backup authenticates nothing.
          const keyFile = join(root, "key.txt");
          await Deno.writeTextFile(keyFile, (await runCli(["key", "export", stateDb])).stdout);
          const withKey = await verify(stateDb, "--local", folder, "--identity", keyFile);
          assert.equal(withKey.code, 0, withKey.stdout + withKey.stderr);
          const otherKey = join(root, "other.txt");
          await sh(`age-keygen -o '${otherKey}' 2>/dev/null`);
          const wrongKey = await verify(stateDb, "--local", folder, "--identity", otherKey);
          assert.equal(wrongKey.code, 1);
          assert.equal(problemLines(wrongKey).length, volumes.length);
          for (const line of problemLines(wrongKey)) assert.match(line, /: age: .*identit/i);

          const [first, second, third] = volumes;
          const flipped = join(folder, first.name);
          const bytes = await Deno.readFile(flipped);
          bytes[Math.floor(bytes.length / 2)] ^= 0x01;
          await Deno.writeFile(flipped, bytes);
          const truncated = join(folder, second.name);
          await Deno.truncate(truncated, second.size! - 100);
          await Deno.remove(join(folder, third.name));

          const damaged = await verify(stateDb, "--local", folder);
          assert.equal(damaged.code, 1, damaged.stdout + damaged.stderr);
          const lines = problemLines(damaged);
          assert.equal(lines.length, 2, lines.join("\n"));
          assert.match(
            lines[0],
            new RegExp(
              `^problem: ${first.name}: ${flipped}: SHA-256 [0-9a-f]{64} differs from the ` +
                `catalog's ${first.sha256}; age: .*failed authentication`,
            ),
          );
          assert.match(
            lines[1],
            new RegExp(
              `^problem: ${second.name}: ${truncated}: ${second.size! - 100} bytes, the catalog ` +
                `says ${second.size} \\(truncated or extended\\); age: .*truncated`,
            ),
          );
          assert.match(damaged.stdout, /\(1 volume of the backup not in that folder\)/);

          // A folder holding none of the volumes is a mistake, not a pass.
          const empty = join(root, "empty");
          await Deno.mkdir(empty);
          const nothing = await verify(stateDb, "--local", empty);
          assert.equal(nothing.code, 1);
          assert.deepEqual(problemLines(nothing), [
            `problem: ${empty}: none of the ${volumes.length} volumes of this backup is here`,
          ]);
        });
      });
    },
  ),
);

Deno.test("verify --local checks unencrypted volumes by decompressing them fully", async () => {
  for (const compression of ["zstd", "gzip", "none"]) {
    await withSandbox(undefined, async ({ root, backup, verify }) => {
      const bucketDir = join(root, "bucket");
      await Deno.mkdir(bucketDir);
      const made = await backup(
        `file://${bucketDir}`,
        "--no-encrypt",
        "--compression",
        compression,
      );
      assert.equal(made.code, 0, made.stderr);
      const stateDb = stateDbFrom(made);
      const [volume] = volumesOf(stateDb);
      const folder = join(bucketDir, volume.objectKey.split("/")[0]);

      const intact = await verify(stateDb, "--local", folder);
      assert.equal(intact.code, 0, `${compression}: ${intact.stdout}${intact.stderr}`);
      const stage = compression === "none" ? "" : `${compression} decompression, `;
      assert.match(intact.stdout, new RegExp(`: size, SHA-256, ${stage}TAR structure\n`));

      // Cut inside the data, so that the decoder itself must notice the missing end.
      await Deno.truncate(join(folder, volume.name), Math.floor(volume.size! / 2));
      const cut = await verify(stateDb, "--local", folder);
      assert.equal(cut.code, 1, `${compression}: ${cut.stdout}`);
      // node:zlib's zstd accepts a cut frame silently; the TAR reader then finds the cut.
      const stageName = { zstd: "(zstd|tar)", gzip: "gzip", none: "tar" }[compression];
      assert.match(
        problemLines(cut)[0],
        new RegExp(`^problem: ${volume.name}: .* \\(truncated or extended\\); ${stageName}: `),
      );
    });
  }
});

Deno.test("verify --local ends with a TAR error on a volume whose TAR has a negative size", async () => {
  await withSandbox(undefined, async ({ root, env, backup }) => {
    const bucketDir = join(root, "bucket");
    await Deno.mkdir(bucketDir);
    const made = await backup(`file://${bucketDir}`, "--no-encrypt", "--compression", "none");
    assert.equal(made.code, 0, made.stderr);
    const stateDb = stateDbFrom(made);
    const [volume] = volumesOf(stateDb);
    const folder = join(bucketDir, volume.objectKey.split("/")[0]);

    // A pax extended header of size -512 (GNU base-256) before the real members: a reader that
    // honours it steps back onto the same header for ever.
    const hostile = encodeTarHeader({
      path: "ü/" + "p".repeat(120),
      type: "file",
      size: 0,
      mode: 0o644,
      mtime: 1,
    }).subarray(0, 512);
    assert.equal(String.fromCharCode(hostile[156]), "x");
    setBase256(hostile, 124, 12, -512);
    fixChecksum(hostile, 0);
    const path = join(folder, volume.name);
    await Deno.writeFile(path, concatBytes([hostile, await Deno.readFile(path)]));

    // Bounded: before the fix this run never ended.
    const result = await runCliWithin(60_000, ["verify", stateDb, "--local", folder], { env });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(
      problemLines(result)[0],
      new RegExp(
        `^problem: ${volume.name}: .*; tar: Malformed TAR archive: negative size -512$`,
      ),
    );
  });
});

Deno.test("verify finds a damaged catalog: missing checksums, orphan files, overlapping ranges", async () => {
  await withSandbox(undefined, async ({ root, backup, verify }) => {
    const bucketDir = join(root, "bucket");
    await Deno.mkdir(bucketDir);
    const made = await backup(`file://${bucketDir}`);
    assert.equal(made.code, 0, made.stderr);
    const stateDb = stateDbFrom(made);
    const [first, second] = volumesOf(stateDb);
    const db = new DatabaseSync(stateDb);
    db.exec("PRAGMA foreign_keys = OFF");
    db.prepare("UPDATE volumes SET sha256 = NULL WHERE id = ?").run(first.id);
    db.prepare("UPDATE volumes SET first_file_id = ? WHERE id = ?").run(
      first.lastFileId,
      second.id,
    );
    db.prepare("UPDATE files SET volume_id = 999 WHERE id = ?").run(second.lastFileId);
    db.prepare("UPDATE files SET volume_id = ? WHERE id = ?").run(second.id, first.firstFileId);
    db.prepare("UPDATE files SET state = 'pending' WHERE id = ?").run(first.lastFileId);
    db.close();

    const result = await verify(stateDb);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const lines = problemLines(result);
    assert.ok(lines.includes(`problem: ${first.name}: uploaded but no valid SHA-256 is recorded`));
    assert.ok(
      lines.some((l) => l.startsWith(`problem: ${second.name}: file range`)),
      lines.join("\n"),
    );
    assert.ok(
      lines.some((l) =>
        /^problem: catalog: 1 entries belong to no existing volume: .*volume id 999/.test(l)
      ),
    );
    assert.ok(lines.some((l) => /^problem: catalog: 1 entries lie outside the file range/.test(l)));
    assert.ok(
      lines.some((l) =>
        /^problem: catalog: 1 entries of uploaded volumes were never recorded as packed/.test(l)
      ),
    );
  });
});

Deno.test("verify reports an unfinished backup and refuses bad usage", async () => {
  await withSandbox(undefined, async ({ root, src, env, verify }) => {
    const bucketDir = join(root, "bucket");
    await Deno.mkdir(bucketDir);
    const crashed = await runCli([
      "backup",
      "--src-dirs",
      src,
      "--bucket",
      `file://${bucketDir}`,
      "--volume-size",
      "1MiB",
      "--state-dir",
      join(root, "state"),
      join(root, "work", "vol.tar"),
    ], { env: { ...env, GLACIER_TEST_CRASH_AT: "after-volume-built:2" } });
    assertKilled(crashed);
    const stateDb = stateDbFrom(crashed);
    const unfinished = await verify(stateDb);
    assert.equal(unfinished.code, 1);
    assert.match(
      problemLines(unfinished)[0],
      /^problem: catalog: the backup is not finished \(phase planned, \d+ of \d+ volumes not uploaded\): run glacier resume$/,
    );

    const noKey = await verify(stateDb, "--identity", join(root, "key.txt"));
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /^error: cannot read identity file/);
    const missing = await verify(join(root, "nothing.sqlite3"));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: cannot open state database/);
    const notFolder = await verify(stateDb, "--local", join(root, "nowhere"));
    assert.equal(notFolder.code, 2);
  });
});

Deno.test("verify finds a multipart volume replaced by a same-size object put in one part", async () => {
  await withMoto(async (moto) => {
    await withSandbox(moto.endpoint, async ({ backup, verify }) => {
      await createBucket(moto.endpoint, "verify-parts");
      const made = await backup("verify-parts");
      assert.equal(made.code, 0, made.stderr);
      const stateDb = stateDbFrom(made);
      const [first] = volumesOf(stateDb);
      assert.notEqual(first.partSize, null, "volumes on S3 are sent as multipart uploads");
      const storage = testStorage(moto.endpoint, "verify-parts");
      await storage.putObject(first.objectKey, randomBytes(first.size!), "STANDARD");

      const result = await verify(stateDb);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.deepEqual(problemLines(result), [
        `problem: ${first.name}: object ${first.objectKey} was stored in one put, not as a ` +
        "multipart upload, the backup sent 1 part: it was replaced",
      ]);
    });
  });
});

Deno.test("storedParts tells a multipart ETag from a one-put ETag and from others", () => {
  assert.deepEqual(storedParts('"0123456789abcdef0123456789abcdef-3"'), {
    multipart: true,
    parts: 3,
  });
  assert.deepEqual(storedParts('"0123456789abcdef0123456789abcdef"'), {
    multipart: false,
    parts: 1,
  });
  assert.equal(storedParts(undefined), undefined);
  assert.equal(storedParts('"not-an-md5"'), undefined);
});

Deno.test("multipartCount reads the part count of multipart ETags only", () => {
  assert.equal(multipartCount('"0123456789abcdef0123456789abcdef-3"'), 3);
  assert.equal(multipartCount("0123456789abcdef0123456789abcdef-12"), 12);
  assert.equal(multipartCount('"0123456789abcdef0123456789abcdef"'), undefined);
  assert.equal(multipartCount(undefined), undefined);
  assert.equal(multipartCount('"abc-3"'), undefined);
});

Deno.test(
  where(
    needs("bash", "age", "age-keygen"),
    "verify opens the catalog copy: garbage, truncated, another backup's, other volumes",
    async () => {
      await withSandbox(undefined, async ({ root, backup, verify }) => {
        const bucketDir = join(root, "bucket");
        await Deno.mkdir(bucketDir);
        const bucket = `file://${bucketDir}`;
        const stateDb = stateDbFrom(await backup(bucket));
        const other = stateDbFrom(await backup(bucket));
        const copyOf = (db: string) => {
          const folder = volumesOf(db)[0].objectKey.split("/")[0];
          return {
            key: `${folder}/catalog.sqlite3.age`,
            path: join(bucketDir, folder, "catalog.sqlite3.age"),
          };
        };
        const copy = copyOf(stateDb);
        const original = await Deno.readFile(copy.path);

        const intact = await verify(stateDb);
        assert.equal(intact.code, 0, intact.stdout + intact.stderr);
        assert.match(
          intact.stdout,
          new RegExp(`checked the catalog copy ${copy.key}: decrypted, `),
        );

        const keyFile = join(root, "key.txt");
        await Deno.writeTextFile(keyFile, (await runCli(["key", "export", stateDb])).stdout);
        const recipient = (await sh(`age-keygen -y '${keyFile}'`)).trim();
        const plain = join(root, "copy.sqlite3");
        await sh(`age -d -i '${keyFile}' -o '${plain}' '${copy.path}'`);
        const db = new DatabaseSync(plain);
        db.prepare("UPDATE volumes SET sha256 = ? WHERE id = ?").run(
          "0".repeat(64),
          volumesOf(stateDb)[1].id,
        );
        db.close();
        await sh(`age -r ${recipient} -o '${plain}.age' '${plain}'`);

        const bad: [string, Uint8Array, RegExp][] = [
          ["garbage", randomBytes(original.length), /is damaged: not an age encrypted file/],
          ["truncated", original.slice(0, original.length - 100), /is damaged: .*truncated/],
          [
            "another backup's",
            await Deno.readFile(copyOf(other).path),
            /not encrypted to this backup's key/,
          ],
          [
            "other volumes",
            await Deno.readFile(`${plain}.age`),
            new RegExp(
              `does not list the same volumes as this state database \\(1 differ\\): ` +
                `${volumesOf(stateDb)[1].name} with another SHA-256$`,
            ),
          ],
        ];
        for (const [what, bytes, reason] of bad) {
          await Deno.writeFile(copy.path, bytes);
          const result = await verify(stateDb);
          assert.equal(result.code, 1, `${what}: ${result.stdout}${result.stderr}`);
          const lines = problemLines(result);
          assert.equal(lines.length, 1, `${what}: ${lines.join("\n")}`);
          assert.ok(lines[0].startsWith(`problem: ${copy.key}: `), `${what}: ${lines[0]}`);
          assert.match(lines[0], reason, what);
        }
      });
    },
  ),
);

Deno.test(
  where(
    needs("bash", "age-keygen"),
    "verify checks a --recipient backup's catalog copy only with --identity",
    async () => {
      await withSandbox(undefined, async ({ root, backup, verify }) => {
        const bucketDir = join(root, "bucket");
        await Deno.mkdir(bucketDir);
        const keyFile = join(root, "mine.txt");
        const otherKey = join(root, "other.txt");
        await sh(`age-keygen -o '${keyFile}' 2>/dev/null; age-keygen -o '${otherKey}' 2>/dev/null`);
        const recipient = (await sh(`age-keygen -y '${keyFile}'`)).trim();
        const first = stateDbFrom(await backup(`file://${bucketDir}`, "--recipient", recipient));
        const second = stateDbFrom(await backup(`file://${bucketDir}`, "--recipient", recipient));
        const [firstId, secondId] = [first, second].map((db) =>
          volumesOf(db)[0].objectKey.split("/")[0]
        );
        const copyKey = `${secondId}/catalog.sqlite3.age`;

        const noKey = await verify(second);
        assert.equal(noKey.code, 0, noKey.stdout + noKey.stderr);
        assert.match(
          noKey.stdout,
          new RegExp(`note: ${copyKey}: the catalog copy was not checked: no key`),
        );
        const wrongKey = await verify(second, "--identity", otherKey);
        assert.equal(wrongKey.code, 2, wrongKey.stdout + wrongKey.stderr);
        assert.match(wrongKey.stderr, /error: no key in .*other\.txt opens this backup/);
        const withKey = await verify(second, "--identity", keyFile);
        assert.equal(withKey.code, 0, withKey.stdout + withKey.stderr);
        assert.match(withKey.stdout, new RegExp(`checked the catalog copy ${copyKey}: decrypted`));

        // The first backup's copy opens with the same key, but is not this backup's catalog.
        await Deno.copyFile(
          join(bucketDir, firstId, "catalog.sqlite3.age"),
          join(bucketDir, copyKey),
        );
        const swapped = await verify(second, "--identity", keyFile);
        assert.equal(swapped.code, 1, swapped.stdout + swapped.stderr);
        assert.deepEqual(problemLines(swapped), [
          `problem: ${copyKey}: the catalog copy ${copyKey} belongs to backup ${firstId}, not ${secondId}`,
        ]);
      });
    },
  ),
);
