/**
 * `backup --base` refuses a base it cannot build on (exit 2, one line, nothing uploaded), `resume`
 * refuses a base changed underneath, and a chain extracted with `age | zstd | tar` plus the
 * deleted-paths lists (the README's loop) gives the newest tree.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  backupToSandbox,
  backupToSandboxKilledAt,
  makeSandbox,
  type Sandbox,
} from "../../testing/sandbox.ts";
import { assertKilled, type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { diffTrees, randomBytes } from "../../testing/tree.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needs, where } from "../../testing/platform.ts";

/** Every file of the folder bucket, with its size (what a refused run must leave as it was). */
async function bucketFiles(box: Sandbox): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else out.push(`${path} ${(await Deno.stat(path)).size}`);
    }
  };
  await walk(box.bucket);
  return out.sort();
}

async function withChain(fn: (box: Sandbox, full: string) => Promise<void>) {
  const box = await makeSandbox("glacier-incremental-input-");
  try {
    await Deno.mkdir(join(box.src, "d"));
    await Deno.writeFile(join(box.src, "d", "a.bin"), randomBytes(50_000));
    await Deno.writeTextFile(join(box.src, "b.txt"), "b");
    const full = await backupToSandbox(box);
    assert.equal(full.code, 0, full.stderr);
    await fn(box, stateDbFrom(full));
  } finally {
    await box.cleanup();
  }
}

/** Runs `backup --base ...` expecting a refusal matching `message`, with nothing uploaded. */
async function assertRefused(box: Sandbox, message: RegExp, ...extra: string[]) {
  const before = await bucketFiles(box);
  const result: CliResult = await backupToSandbox(box, ...extra);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, message);
  assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  assert.deepEqual(await bucketFiles(box), before, "nothing uploaded");
}

function editCatalog(stateDb: string, sql: string) {
  const db = new DatabaseSync(stateDb);
  db.exec(sql);
  db.close();
}

Deno.test("backup --base refuses a base of another prefix, another key, unfinished or with deleted volumes", async () => {
  await withChain(async (box, full) => {
    await assertRefused(
      box,
      /under prefix "", not "nightly"/,
      "--base",
      full,
      "--prefix",
      "nightly",
    );
    await assertRefused(
      box,
      /other keys than --recipient/,
      "--base",
      full,
      "--recipient",
      "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
    );
    await assertRefused(
      box,
      /uses zstd compression, not gzip/,
      "--base",
      full,
      "--compression",
      "gz",
    );
    await assertRefused(box, /--rehash needs --base/, "--rehash");
    const other = join(box.root, "other-bucket");
    await Deno.mkdir(other);
    const elsewhere = await runCli([
      "backup",
      "--src-dirs",
      box.src,
      "--bucket",
      `file://${other}`,
      "--state-dir",
      box.state,
      "--base",
      full,
    ]);
    assert.equal(elsewhere.code, 2, elsewhere.stderr);
    assert.match(elsewhere.stderr, /is in bucket file:\/\/.*, not file:\/\/.*other-bucket/);
    assert.deepEqual([...Deno.readDirSync(other)], []);

    const killed = await backupToSandboxKilledAt(box, "after-volume-built");
    assertKilled(killed);
    await assertRefused(box, /is not a finished backup/, "--base", stateDbFrom(killed));

    editCatalog(full, "UPDATE volumes SET state = 'deleted'");
    await assertRefused(
      box,
      /cannot be a base: its volume 000001_backup\.tar\.zst\.age is deleted/,
      "--base",
      full,
    );
  });
});

Deno.test("backup --base refuses a chain with a missing link; latest picks the newest finished backup", async () => {
  await withChain(async (box, full) => {
    await Deno.writeTextFile(join(box.src, "c.txt"), "c");
    // The dry run prices only what changed: c.txt (and the folder holding it), not d/a.bin.
    const dry = await backupToSandbox(box, "--base", "latest", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`incremental on ${fullId(full)}: 3 entries .* unchanged`));
    const expected = /expected: 1 volume \(largest ([\d.]+) KiB\)/.exec(dry.stdout);
    assert.ok(expected && Number(expected[1]) < 10, dry.stdout);
    const second = await backupToSandbox(box, "--base", "latest");
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, new RegExp(`incremental on ${fullId(full)}`));
    const secondDb = stateDbFrom(second);

    // The full backup's state and catalog copy both gone: the chain has lost its first link.
    await Deno.remove(full);
    await Deno.remove(join(box.bucket, fullId(full), "catalog.sqlite3.age"));
    await assertRefused(box, new RegExp(`missing backup ${fullId(full)}`), "--base", secondDb);
  });
});

function fullId(stateDb: string): string {
  return /(\d{8}_\d{6})_backup_statedb/.exec(stateDb)![1];
}

Deno.test("an incremental killed (kill -9) resumes, but not on a base changed since it started", async () => {
  await withChain(async (box, full) => {
    await Deno.writeFile(join(box.src, "d", "a.bin"), randomBytes(50_000));
    const killed = await backupToSandboxKilledAt(box, "after-volume-built", "--base", full);
    assertKilled(killed);
    editCatalog(full, "UPDATE volumes SET state = 'missing'");
    const resumed = await runCli(["resume", stateDbFrom(killed)]);
    assert.equal(resumed.code, 2, resumed.stderr);
    assert.match(resumed.stderr, /has changed since the incremental started/);

    editCatalog(full, "UPDATE volumes SET state = 'uploaded'");
    const again = await runCli(["resume", stateDbFrom(killed)]);
    assert.equal(again.code, 0, again.stderr);
    // The resumed incremental restores the tree of its moment, its base's files included.
    const dest = join(box.root, "restored");
    const restored = await runCli(["restore", stateDbFrom(killed), "--to", dest, "--yes"]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(await diffTrees(box.src, join(dest, archivePath(box.src))), []);
  });
});

Deno.test(
  where(
    needs("sh", "age", "zstd", "tar"),
    "the README's loop extracts a chain with age, zstd and tar into the newest tree",
    async () => {
      await withChain(async (box, full) => {
        const ids = [fullId(full)];
        await Deno.remove(join(box.src, "d"), { recursive: true });
        await Deno.writeTextFile(join(box.src, "b.txt"), "b, changed");
        await Deno.writeTextFile(join(box.src, "new.txt"), "new");
        const second = await backupToSandbox(box, "--base", full);
        assert.equal(second.code, 0, second.stderr);
        ids.push(fullId(stateDbFrom(second)));
        await Deno.remove(join(box.src, "new.txt"));
        const third = await backupToSandbox(box, "--base", "latest");
        assert.equal(third.code, 0, third.stderr);
        ids.push(fullId(stateDbFrom(third)));

        // verify checks the snapshot over the chain: every volume it needs, the list-only volume.
        const verified = await runCli(["verify", stateDbFrom(third)]);
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
        assert.match(verified.stdout + verified.stderr, /no problems found/);

        // delete on the newest does not reach into an earlier backup's folder.
        const reach = await runCli([
          "delete",
          "--files",
          `000001_backup.tar.zst.age`,
          stateDbFrom(third),
          "--yes",
        ]);
        assert.equal(reach.code, 2, reach.stderr);
        assert.match(reach.stderr, /not a volume of this backup/);

        // show names the chain, and which backup holds each entry.
        const shown = await runCli(["show", stateDbFrom(third)]);
        assert.equal(shown.code, 0, shown.stderr);
        assert.match(shown.stdout, new RegExp(`chain: +${ids.join(" <- ")}`));
        const bLine = shown.stdout.split("\n").find((l) => l.endsWith("/b.txt"))!;
        assert.match(bLine, new RegExp(`  ${ids[1]}  000002_`), bLine);
        const json = JSON.parse((await runCli(["show", "--json", stateDbFrom(third)])).stdout) as {
          path: string;
          backup: string;
        }[];
        assert.equal(json.find((e) => e.path.endsWith("/b.txt"))?.backup, ids[1]);

        const out = join(box.root, "by-hand");
        await Deno.mkdir(out);
        for (const id of ids) await Deno.symlink(join(box.bucket, id), join(out, id));
        const key = await runCli(["key", "export", full]);
        await Deno.writeTextFile(join(out, "key.txt"), key.stdout);
        const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
        const loop = /```sh\n(for b in [^\n]*\n[^\n]*)\n```/.exec(readme)![1]
          .replace(/^for b in [\d_ ]+;/, `for b in ${ids.join(" ")};`);
        const shell = await new Deno.Command("sh", { args: ["-c", loop], cwd: out }).output();
        assert.equal(shell.code, 0, new TextDecoder().decode(shell.stderr));
        assert.deepEqual(await diffTrees(box.src, join(out, archivePath(box.src))), []);
        assert.equal(
          [...Deno.readDirSync(out)].some((e) => e.name.startsWith(".glacier-deleted-paths")),
          false,
        );
      });
    },
  ),
);

Deno.test(
  where(
    needs("cp"),
    "--rehash keeps a file whose bytes are the same though its inode and change time are not",
    async () => {
      await withChain(async (box, full) => {
        // A copy with the same bytes, mode and mtime, put in place: a new inode and change time.
        const file = join(box.src, "d", "a.bin");
        const copy = await new Deno.Command("cp", { args: ["-p", file, `${file}.new`] }).output();
        assert.equal(copy.code, 0);
        await Deno.rename(`${file}.new`, file);
        const held = async (...extra: string[]) => {
          const result = await backupToSandbox(box, "--base", full, ...extra);
          assert.equal(result.code, 0, result.stderr);
          const json = JSON.parse(
            (await runCli(["show", "--json", stateDbFrom(result)])).stdout,
          ) as {
            path: string;
            backup: string;
          }[];
          return json.find((e) => e.path.endsWith("/d/a.bin"))?.backup;
        };
        assert.notEqual(await held(), fullId(full), "by metadata it changed: packed again");
        await new Promise((r) => setTimeout(r, 1100));
        assert.equal(await held("--rehash"), fullId(full), "by content it did not");
      });
    },
  ),
);
