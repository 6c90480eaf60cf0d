/** `glacier decrypt`: volumes downloaded by hand, with the catalog's key or the user's own. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../../testing/run_cli.ts";
import { diffTrees, makeTree } from "../../testing/tree.ts";
import { sh } from "../../testing/volumes.ts";
import { backupToFolder, lines, readCatalog, type Sandbox, sandbox } from "./helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needs, where } from "../../testing/platform.ts";

/** Copies the backup's volumes from the folder bucket into `downloads/`, as a user would. */
async function downloadVolumes(box: Sandbox, stateDb: string): Promise<string> {
  const downloads = join(box.root, "downloads");
  await Deno.mkdir(downloads);
  for (const v of readCatalog(stateDb, (c) => c.volumes())) {
    await Deno.copyFile(join(box.bucket, v.objectKey), join(downloads, v.name));
  }
  return downloads;
}

/** The names in a folder, sorted. */
function folderNames(folder: string): string[] {
  return [...Deno.readDirSync(folder)].map((e) => e.name).sort();
}

/** Extracts every `*.tar.zst` of `folder` with `zstd -d | tar -x` into `dest`. */
async function extractAll(folder: string, dest: string): Promise<void> {
  await Deno.mkdir(dest, { recursive: true });
  for (const name of folderNames(folder).filter((n) => n.endsWith(".tar.zst"))) {
    await sh(`zstd -d -q -c '${join(folder, name)}' | tar -x -p -f - -C '${dest}'`);
  }
}

Deno.test(
  where(
    needs("bash", "zstd", "tar"),
    "decrypt with the catalog's key gives .tar.zst volumes that extract to the tree",
    async () => {
      const box = await sandbox();
      try {
        await makeTree(box.src, { bigFiles: [800_000, 600_000], smallFiles: 30 });
        const stateDb = await backupToFolder(box, "--volume-size", "1MiB");
        const volumes = readCatalog(stateDb, (c) => c.volumes());
        assert.ok(volumes.length >= 2);
        const downloads = await downloadVolumes(box, stateDb);
        const result = await runCli(["decrypt", stateDb, downloads]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, new RegExp(`decrypted ${volumes.length} volumes`));
        assert.deepEqual(
          folderNames(downloads),
          volumes.flatMap((v) => [v.name.replace(/\.age$/, ""), v.name]).sort(),
        );
        const dest = join(box.root, "restored");
        await extractAll(downloads, dest);
        assert.deepEqual(await diffTrees(box.src, join(dest, archivePath(box.src))), []);
      } finally {
        await box.cleanup();
      }
    },
  ),
);

Deno.test(
  where(
    needs("age-keygen", "bash", "zstd", "tar"),
    "decrypt --identity opens a --recipient backup; without it, or with a wrong key, exit 2",
    async () => {
      const box = await sandbox();
      try {
        await makeTree(box.src);
        const keyFile = join(box.root, "me.key");
        const otherKey = join(box.root, "other.key");
        for (const file of [keyFile, otherKey]) {
          await new Deno.Command("age-keygen", { args: ["-o", file], stderr: "null" }).output();
        }
        const recipient = (await Deno.readTextFile(keyFile)).match(/public key: (age1\S+)/)![1];
        const stateDb = await backupToFolder(box, "--recipient", recipient);
        const downloads = await downloadVolumes(box, stateDb);
        const [volume] = readCatalog(stateDb, (c) => c.volumes());

        const noKey = await runCli(["decrypt", stateDb, downloads]);
        assert.equal(noKey.code, 2);
        assert.match(noKey.stderr, /^error: .*holds no secret key: pass --identity FILE\n$/);

        const wrong = await runCli(["decrypt", stateDb, downloads, "--identity", otherKey]);
        assert.equal(wrong.code, 2);
        assert.equal(lines(wrong.stderr).length, 1, wrong.stderr);
        assert.match(
          wrong.stderr,
          new RegExp(`^error: .*${volume.name}: cannot decrypt: no identity matches.*wrong key`),
        );
        assert.deepEqual(folderNames(downloads), [volume.name], "nothing half-written is left");

        const notAKey = join(box.root, "garbage.key");
        await Deno.writeTextFile(notAKey, "hello\n");
        const garbage = await runCli(["decrypt", stateDb, downloads, "--identity", notAKey]);
        assert.equal(garbage.code, 2);
        assert.match(garbage.stderr, /^error: .*garbage\.key: .*line 1 of the identity file/);

        const ok = await runCli(["decrypt", stateDb, downloads, "--identity", keyFile]);
        assert.equal(ok.code, 0, ok.stderr);
        const dest = join(box.root, "restored");
        await extractAll(downloads, dest);
        assert.deepEqual(await diffTrees(box.src, join(dest, archivePath(box.src))), []);
      } finally {
        await box.cleanup();
      }
    },
  ),
);

Deno.test("decrypt reports a damaged volume in one line, leaves no output, and lists missing ones", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src, { bigFiles: [700_000, 700_000, 700_000] });
    const stateDb = await backupToFolder(box, "--volume-size", "1MiB");
    const volumes = readCatalog(stateDb, (c) => c.volumes());
    assert.ok(volumes.length >= 3);
    const downloads = await downloadVolumes(box, stateDb);
    const [damaged, absent, ...fine] = volumes;
    // Flip one byte in the middle of the first volume; remove the second.
    const path = join(downloads, damaged.name);
    const bytes = await Deno.readFile(path);
    bytes[bytes.length >> 1] ^= 0x01;
    await Deno.writeFile(path, bytes);
    await Deno.remove(join(downloads, absent.name));

    const result = await runCli(["decrypt", stateDb, downloads]);
    assert.equal(result.code, 3, result.stderr);
    const errors = lines(result.stderr).filter((l) => l.startsWith("error:"));
    assert.deepEqual(errors, [
      `error: ${path}: does not match the SHA-256 recorded in the state database (damaged ` +
      "download?); not decrypted",
    ]);
    assert.ok(result.stderr.includes(`warn: not in ${downloads}: ${absent.name}`), result.stderr);
    assert.deepEqual(
      folderNames(downloads),
      [damaged.name, ...fine.flatMap((v) => [v.name.replace(/\.age$/, ""), v.name])].sort(),
    );

    // A truncated download is caught by its size.
    await Deno.writeFile(path, bytes.subarray(0, 1000));
    const truncated = await runCli(["decrypt", stateDb, downloads]);
    assert.equal(truncated.code, 3);
    assert.match(
      truncated.stderr,
      new RegExp(`${damaged.name}: is 1000 bytes but the backup uploaded ${damaged.size}`),
    );

    // Only missing volumes: exit 1.
    await Deno.remove(path);
    const partial = await runCli(["decrypt", stateDb, downloads]);
    assert.equal(partial.code, 1, partial.stderr);
    assert.ok(partial.stderr.includes(`not in ${downloads}: ${damaged.name}`), partial.stderr);
    assert.match(partial.stderr, /2 not in the folder/);
  } finally {
    await box.cleanup();
  }
});

Deno.test("decrypt of an unencrypted backup says there is nothing to decrypt", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src);
    const stateDb = await backupToFolder(box, "--no-encrypt");
    const result = await runCli(["decrypt", stateDb, box.root]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /is not encrypted: .*nothing to decrypt/);
    const noFolder = await runCli(["decrypt", await backupToFolder(box), join(box.root, "nope")]);
    assert.equal(noFolder.code, 2);
    assert.match(noFolder.stderr, /^error: folder .*nope does not exist\n$/);
  } finally {
    await box.cleanup();
  }
});
