/**
 * End-to-end backups to a `file://` bucket, read back with nothing but `age`, `zstd` and `tar`.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { diffTrees, makeTree, randomBytes } from "../../testing/tree.ts";
import { assertKilled, glacierCommand, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { backupToSandbox, backupToSandboxKilledAt, makeSandbox } from "../../testing/sandbox.ts";
import { extractWithReferenceTools } from "../../testing/volumes.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { localVolumePath } from "../../lib/backup/build_volume.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import { collect, legacyUpload } from "../storage/helpers.ts";
import { exists } from "../../lib/storage/exists.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needs, needsPosixModes, skipOnWindows, where } from "../../testing/platform.ts";

/** Lists the volume files of a backup in a file:// bucket, in order. */
async function bucketVolumes(bucket: string, backupId: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(bucket, backupId))) {
    if (/^\d{6}_/.test(entry.name)) names.push(join(bucket, backupId, entry.name));
  }
  return names.sort();
}

Deno.test(
  where(
    needs("bash", "age", "zstd", "tar"),
    "backup to a folder bucket is recovered byte for byte by age | zstd | tar",
    async () => {
      const box = await makeSandbox();
      try {
        await makeTree(box.src, { bigFiles: [1_500_000, 700_000, 1_100_000], smallFiles: 300 });
        const result = await backupToSandbox(
          box,
          "--volume-size",
          "1MiB",
          join(box.root, "work", "output.tar"),
        );
        assert.equal(result.code, 0, result.stderr);
        const stateDb = stateDbFrom(result);
        const catalog = Catalog.open(stateDb);
        const backupId = catalog.settings().backupId;
        const volumes = catalog.volumes();
        catalog.close();
        assert.ok(volumes.length >= 3, `expected several volumes, got ${volumes.length}`);
        assert.ok(volumes.every((v) => v.state === "uploaded"));
        assert.equal((await Deno.stat(stateDb)).mode! & 0o777, 0o600);

        const key = await runCli(["key", "export", stateDb]);
        assert.equal(key.code, 0, key.stderr);
        assert.match(key.stdout, /^AGE-SECRET-KEY-1[0-9A-Z]+$/m);
        const keyFile = join(box.root, "key.txt");
        await Deno.writeTextFile(keyFile, key.stdout);

        const files = await bucketVolumes(box.bucket, backupId);
        assert.deepEqual(
          files.map((f) => f.slice(f.lastIndexOf("/") + 1)),
          volumes.map((v) => v.name),
        );
        assert.match(files[0], /000001_output\.tar\.zst\.age$/);
        const dest = join(box.root, "restored");
        await Deno.mkdir(dest);
        for (const volume of files) await extractWithReferenceTools(volume, dest, keyFile);
        assert.deepEqual(await diffTrees(box.src, join(dest, archivePath(box.src))), []);
        // Local volumes are deleted once uploaded.
        assert.deepEqual([...Deno.readDirSync(join(box.root, "work"))], []);
      } finally {
        await box.cleanup();
      }
    },
  ),
);

Deno.test(
  where(
    needs("bash", "age", "zstd", "gzip", "tar"),
    "every compression, with and without encryption, reads back whole",
    async () => {
      const box = await makeSandbox();
      try {
        // Big enough for many pipeline batches: a stage that freed a buffer too early lost data here.
        await makeTree(box.src, { smallFiles: 20, bigFiles: [3_000_000] });
        for (const compression of ["zstd", "gz", "none"]) {
          for (const encrypt of [false, true]) {
            const result = await backupToSandbox(
              box,
              "--compression",
              compression,
              ...(encrypt ? [] : ["--no-encrypt"]),
            );
            assert.equal(result.code, 0, result.stderr);
            const stateDb = stateDbFrom(result);
            const catalog = Catalog.open(stateDb);
            const backupId = catalog.settings().backupId;
            catalog.close();
            const [volume] = await bucketVolumes(box.bucket, backupId);
            const extension = { zstd: ".tar.zst", gz: ".tar.gz", none: ".tar" }[compression] +
              (encrypt ? ".age" : "");
            assert.ok(volume.endsWith(`_backup${extension}`), volume);
            const exported = await runCli(["key", "export", stateDb]);
            let keyFile: string | undefined;
            if (encrypt) {
              assert.equal(exported.code, 0, exported.stderr);
              keyFile = join(box.root, `key-${backupId}.txt`);
              await Deno.writeTextFile(keyFile, exported.stdout);
            } else {
              assert.equal(exported.code, 2);
              assert.match(exported.stderr, /not encrypted/);
            }
            const dest = join(box.root, `restored-${compression}-${encrypt}`);
            await Deno.mkdir(dest);
            await extractWithReferenceTools(volume, dest, keyFile);
            assert.deepEqual(await diffTrees(box.src, join(dest, archivePath(box.src))), []);
            // Two backups in the same second must not share a state database.
            await new Promise((r) => setTimeout(r, 1100));
          }
        }
      } finally {
        await box.cleanup();
      }
    },
  ),
);

Deno.test(
  where(
    needs("age-keygen", "bash", "age", "zstd", "tar"),
    "--recipient encrypts to the user's key and keeps no secret",
    async () => {
      const box = await makeSandbox();
      try {
        await makeTree(box.src);
        const keyFile = join(box.root, "me.key");
        await new Deno.Command("age-keygen", { args: ["-o", keyFile], stderr: "null" }).output();
        const recipient = (await Deno.readTextFile(keyFile)).match(/public key: (age1\S+)/)![1];
        const result = await backupToSandbox(box, "--recipient", recipient);
        assert.equal(result.code, 0, result.stderr);
        const stateDb = stateDbFrom(result);
        const catalog = Catalog.open(stateDb);
        assert.equal(catalog.identity(), undefined);
        const backupId = catalog.settings().backupId;
        catalog.close();
        const exported = await runCli(["key", "export", stateDb]);
        assert.equal(exported.code, 2);
        assert.match(exported.stderr, /encrypted to your own keys/);
        const dest = join(box.root, "restored");
        await Deno.mkdir(dest);
        for (const v of await bucketVolumes(box.bucket, backupId)) {
          await extractWithReferenceTools(v, dest, keyFile);
        }
        assert.deepEqual(await diffTrees(box.src, join(dest, archivePath(box.src))), []);
      } finally {
        await box.cleanup();
      }
    },
  ),
);

Deno.test(
  where(
    skipOnWindows("it has no FIFOs, which the test needs"),
    "excluded paths, FIFOs and vanished files: skipped, listed, exit code 1",
    async () => {
      const box = await makeSandbox();
      try {
        await makeTree(box.src);
        await Deno.writeTextFile(join(box.src, "scratch.tmp"), "leave me out");
        await Deno.mkdir(join(box.src, "cache"));
        await Deno.writeTextFile(join(box.src, "cache", "blob"), "leave me out too");
        await new Deno.Command("mkfifo", { args: [join(box.src, "a-fifo")] }).output();
        const result = await backupToSandbox(box, "--exclude", "*.tmp", "--exclude", "cache");
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, /skipped .*a-fifo: skipped FIFO/);
        const catalog = Catalog.open(stateDbFrom(result));
        const paths = catalog.filesAfter(0, 1000).map((f) => f.path);
        catalog.close();
        assert.ok(paths.includes(join(box.src, "hello.txt")));
        assert.ok(!paths.some((p) => p.endsWith(".tmp") || p.includes("/cache")), paths.join("\n"));
      } finally {
        await box.cleanup();
      }
    },
  ),
);

Deno.test("a file gone before its volume was packed is named in the summary, exit code 1", async () => {
  const box = await makeSandbox();
  try {
    // Two volumes of one file each; the run stops once the first is built.
    await Deno.writeFile(join(box.src, "a.bin"), randomBytes(700_000));
    await Deno.writeFile(join(box.src, "b.bin"), randomBytes(700_000));
    const stopped = await backupToSandboxKilledAt(
      box,
      "after-volume-built:1",
      "--volume-size",
      "1MiB",
      "--compression",
      "none",
    );
    assertKilled(stopped);
    const stateDb = stateDbFrom(stopped);
    const catalog = Catalog.open(stateDb);
    const later = catalog.filesAfter(0, 10).find((f) => f.type === "file" && f.volumeId === 2)!;
    catalog.close();
    await Deno.remove(later.path);
    const resumed = await runCli(["resume", stateDb]);
    assert.equal(resumed.code, 1, resumed.stderr);
    // The summary goes to stdout (the report), its warnings marked.
    assert.match(
      resumed.stdout,
      new RegExp(`^warn: vanished before it was read: .*${basename(later.path)}$`, "m"),
    );
    // A run where nothing went wrong lists nothing.
    const clean = await backupToSandbox(box);
    assert.equal(clean.code, 0, clean.stderr);
    assert.doesNotMatch(clean.stdout + clean.stderr, /vanished|unreadable|changed while read/);
  } finally {
    await box.cleanup();
  }
});

Deno.test("bad input: one line on stderr, exit code 2, no stack trace", async () => {
  const box = await makeSandbox();
  try {
    await Deno.writeTextFile(join(box.root, "a-file"), "x");
    const cases: [string[], RegExp][] = [
      [["--src-dirs", join(box.root, "missing")], /source folder .*missing does not exist/],
      [["--src-dirs", join(box.root, "a-file")], /is not a folder/],
      [["--src-dirs", box.src, "--volume-size", "0"], /--volume-size must be between/],
      [["--src-dirs", box.src, "--volume-size", "huge"], /is not a size/],
      [["--src-dirs", box.src, "--storage-class", "FROZEN"], /not a storage class/],
      [["--src-dirs", box.src, "--compression", "lzma"], /--compression must be/],
      [["--src-dirs", box.src, "--recipient", "age1nope"], /--recipient/],
      [["--src-dirs", box.src, "--num-upload-workers", "0"], /--num-upload-workers/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli([
        "backup",
        "--bucket",
        `file://${box.bucket}`,
        "--state-dir",
        box.state,
        ...args,
      ]);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert.doesNotMatch(result.stderr, /\bat .*\.ts:\d+/);
    }
    const noArgs = await runCli(["backup"]);
    assert.equal(noArgs.code, 2);
    const corrupt = join(box.root, "corrupt.sqlite3");
    await Deno.writeTextFile(corrupt, "garbage".repeat(1000));
    const resumed = await runCli(["resume", corrupt]);
    assert.equal(resumed.code, 2);
    assert.match(resumed.stderr, /state database/);
  } finally {
    await box.cleanup();
  }
});

Deno.test("a mistyped bucket folder or an invalid bucket name leaves no state database and no log", async () => {
  const box = await makeSandbox();
  try {
    const cases: [string, number, RegExp][] = [
      [`file://${join(box.root, "bucket-typo")}`, 3, /folder .*bucket-typo does not exist/],
      ["Not_A_Bucket!", 2, /invalid bucket "Not_A_Bucket!"/],
    ];
    for (const [bucket, code, message] of cases) {
      const result = await runCli([
        "backup",
        "--src-dirs",
        box.src,
        "--bucket",
        bucket,
        "--state-dir",
        box.state,
      ]);
      assert.equal(result.code, code, `${bucket}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert.equal(result.stdout, "");
      assert.equal(await exists(box.state), false, `${bucket}: the state folder was created`);
    }
  } finally {
    await box.cleanup();
  }
});

Deno.test(
  where(
    skipOnWindows("Deno cannot send Ctrl-C (SIGINT) to a child process there"),
    "Ctrl-C stops cleanly, says how to resume, and resume finishes the backup",
    async () => {
      const box = await makeSandbox();
      try {
        await makeTree(box.src, { bigFiles: Array(40).fill(1_000_000) });
        const [program, ...args] = glacierCommand([
          "backup",
          "--src-dirs",
          box.src,
          "--bucket",
          `file://${box.bucket}`,
          "--volume-size",
          "1MiB",
          "--state-dir",
          box.state,
        ]);
        const child = new Deno.Command(program, {
          args,
          env: { GLACIER_PROGRESS_INTERVAL_MS: "20" },
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        let stderr = "";
        const decoder = new TextDecoder();
        const reader = child.stderr.getReader();
        // Interrupt once the first volume is uploaded, as a user pressing Ctrl-C would.
        while (!/uploaded 000001_/.test(stderr)) {
          const { value, done } = await reader.read();
          if (done) break;
          stderr += decoder.decode(value);
        }
        child.kill("SIGINT");
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          stderr += decoder.decode(r.value);
        }
        const status = await child.status;
        assert.equal(status.code, 3, stderr);
        assert.match(stderr, /interrupted/);
        assert.match(stderr, /resume with: glacier resume \S+statedb\.sqlite3/);
        assert.match(stderr, /\d+% .* volumes \d+\/\d+ up, files \d+\/\d+/);
        const stateDb = stderr.match(/glacier resume (\S+)/)![1];
        const resumed = await runCli(["resume", stateDb]);
        assert.equal(resumed.code, 0, resumed.stderr);
        const catalog = Catalog.open(stateDb);
        const backupId = catalog.settings().backupId;
        assert.ok(catalog.volumes().every((v) => v.state === "uploaded"));
        catalog.close();
        const key = join(box.root, "key.txt");
        await Deno.writeTextFile(key, (await runCli(["key", "export", stateDb])).stdout);
        const dest = join(box.root, "restored");
        await Deno.mkdir(dest);
        for (const v of await bucketVolumes(box.bucket, backupId)) {
          await extractWithReferenceTools(v, dest, key);
        }
        assert.deepEqual(await diffTrees(box.src, join(dest, archivePath(box.src))), []);
      } finally {
        await box.cleanup();
      }
    },
  ),
);

Deno.test("resume finishes a folder-bucket upload that an older version left half-done in emulated parts", async () => {
  const box = await makeSandbox();
  try {
    await makeTree(box.src, { bigFiles: [300_000], smallFiles: 50 });
    const crashed = await backupToSandboxKilledAt(box, "after-volume-built");
    assertKilled(crashed);
    const stateDb = stateDbFrom(crashed);
    // What an older version, which emulated multipart uploads in folders, left when killed after
    // the first part: the upload id and part in the catalog, the upload's folder in the bucket.
    const catalog = Catalog.open(stateDb);
    const [volume] = catalog.volumes();
    assert.equal(volume.state, "built");
    const local = await Deno.readFile(localVolumePath(catalog.settings(), volume));
    const part = local.subarray(0, Math.ceil(local.length / 2));
    catalog.startUpload(volume.id, "0123456789abcdef", 5 * 1024 * 1024);
    catalog.recordPart(volume.id, "0123456789abcdef", {
      partNumber: 1,
      etag: '"00000000000000000000000000000000"',
      size: part.length,
    });
    catalog.close();
    await legacyUpload(box.bucket, "0123456789abcdef", volume.objectKey, part);

    const resumed = await runCli(["resume", stateDb]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const after = Catalog.open(stateDb);
    assert.deepEqual(after.volumes().map((v) => v.state), ["uploaded"]);
    after.close();
    assert.deepEqual(await Deno.readFile(join(box.bucket, volume.objectKey)), local);
    await assert.rejects(Deno.stat(join(box.bucket, ".glacier-uploads")), Deno.errors.NotFound);
    const objects = await collect(createLocalStorage(box.bucket).listObjects(""));
    assert.deepEqual(objects.map((o) => o.key.split("/").at(-1)), [
      volume.name,
      "catalog.sqlite3.age",
    ]);
    const dest = join(box.root, "restored");
    const restored = await runCli(["restore", stateDb, "--to", dest, "--yes"]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(await diffTrees(box.src, join(dest, archivePath(box.src))), []);
  } finally {
    await box.cleanup();
  }
});

Deno.test("resuming a finished backup puts back a missing catalog copy", async () => {
  const box = await makeSandbox();
  try {
    await makeTree(box.src);
    const result = await backupToSandbox(box);
    assert.equal(result.code, 0, result.stderr);
    const stateDb = stateDbFrom(result);
    const catalog = Catalog.open(stateDb);
    const copy = join(box.bucket, catalog.settings().backupId, "catalog.sqlite3.age");
    catalog.close();
    await Deno.remove(copy);
    const resumed = await runCli(["resume", stateDb]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /already complete/);
    assert.ok((await Deno.stat(copy)).size > 0);
    const again = await runCli(["resume", stateDb]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /no copy of the catalog/);
  } finally {
    await box.cleanup();
  }
});

Deno.test(where(needsPosixModes(), {
  name: "a folder bucket keeps the clear catalog copy of --no-encrypt 0600, like the volumes",
  fn: async () => {
    const box = await makeSandbox();
    try {
      await makeTree(box.src);
      const result = await backupToSandbox(box, "--no-encrypt");
      assert.equal(result.code, 0, result.stderr);
      const catalog = Catalog.open(stateDbFrom(result));
      const backupId = catalog.settings().backupId;
      catalog.close();
      const folder = join(box.bucket, backupId);
      const modes: string[] = [];
      for await (const entry of Deno.readDir(folder)) {
        const mode = (await Deno.stat(join(folder, entry.name))).mode! & 0o777;
        modes.push(`${entry.name} ${mode.toString(8)}`);
      }
      assert.deepEqual(modes.sort(), [
        "000001_backup.tar.zst 600",
        "catalog.sqlite3 600",
      ]);
      assert.equal(((await Deno.stat(folder)).mode! & 0o777).toString(8), "700");
    } finally {
      await box.cleanup();
    }
  },
}));

Deno.test(
  where(
    skipOnWindows("it has no FIFOs, which the test needs"),
    "backup's stdout: its state database first, even when it fails, then the summary; --dry-run reports",
    async () => {
      const box = await makeSandbox();
      try {
        await makeTree(box.src, { smallFiles: 3 });
        await new Deno.Command("mkfifo", { args: [join(box.src, "a-fifo")] }).output();
        const made = await backupToSandbox(box);
        assert.equal(made.code, 1, made.stderr);
        const names = [...Deno.readDirSync(box.state)].map((e) => e.name).filter((n) =>
          /sqlite3$/.test(n)
        );
        assert.equal(names.length, 1);
        const db = join(box.state, names[0]);
        // The report (`> report.txt`): the path, then the summary with the skipped file listed.
        const report = made.stdout.split("\n");
        assert.equal(report[0], db);
        assert.match(report[1], /^backup \S+ complete: \d+ entries, .* in 1 volume /);
        assert.match(made.stdout, /\nwarn: skipped .*a-fifo: skipped FIFO\n/);
        assert.ok(made.stdout.endsWith(`\nstate database: ${db}\n`), made.stdout);
        // Progress, the log line users read and warnings stay on stderr; the summary is not repeated.
        assert.match(made.stderr, new RegExp(`state database ${db}\\n`));
        assert.match(made.stderr, /warn: skipped .*a-fifo/);
        assert.doesNotMatch(made.stderr, /complete:/);
        await Deno.remove(join(box.src, "a-fifo"));

        // A run that fails once its database exists (a crash here) still names it, to resume.
        const failed = await backupToSandboxKilledAt(box, "after-scan-batch");
        assertKilled(failed);
        const stateDb = stateDbFrom(failed);
        assert.notEqual(stateDb, join(box.state, names[0]));
        const resumed = await runCli(["resume", stateDb]);
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.match(resumed.stdout, /^backup \S+ complete: /);

        const dry = await backupToSandbox(box, "--dry-run");
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /^dry run: nothing was written or uploaded\n/);
        assert.doesNotMatch(dry.stdout, /sqlite3/);
      } finally {
        await box.cleanup();
      }
    },
  ),
);
