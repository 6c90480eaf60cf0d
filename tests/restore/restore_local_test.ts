/**
 * End-to-end restores from `file://` buckets (no thaw needed whatever the recorded class):
 * identical trees for each volume format, existing files left alone without --overwrite, entries
 * that cannot be restored named, a crafted volume escaping the folder refused, and the catalog
 * copy written at the end of each backup.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { diffTrees, randomBytes } from "../../testing/tree.ts";
import { runCli } from "../../testing/run_cli.ts";
import { sh } from "../../testing/volumes.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";
import {
  encodeTarHeader,
  TAR_END_OF_ARCHIVE,
  tarPaddingLength,
} from "../../lib/archive/tar_header.ts";
import { compressStream } from "../../lib/archive/compress.ts";
import { createEncryptStream } from "../../lib/crypto/age.ts";
import { withFolderBucket } from "./helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needs, where } from "../../testing/platform.ts";

for (
  const format of [
    { name: "zstd, encrypted", args: [] },
    { name: "gzip, unencrypted", args: ["--compression", "gzip", "--no-encrypt"] },
    { name: "uncompressed", args: ["--compression", "none"] },
  ]
) {
  Deno.test(`a file:// restore (${format.name}) needs no thaw and gives an identical tree`, async () => {
    await withFolderBucket(async ({ root, src, backup, restore }) => {
      const stateDb = await backup(...format.args);
      const dest = join(root, "restored");
      const result = await restore([stateDb, "--to", dest]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /0 to thaw/);
      assert.doesNotMatch(result.stderr, /estimated cost/);
      assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
      await assert.rejects(Deno.lstat(join(dest, ".glacier-restore")), Deno.errors.NotFound);
    });
  });
}

Deno.test("a volume of many zstd frames (over 4 MiB of TAR data) restores completely", async () => {
  await withFolderBucket(async ({ root, src, backup, restore }) => {
    await Deno.writeFile(join(src, "large.bin"), randomBytes(9 * 1024 * 1024 + 123));
    const stateDb = await backup("--volume-size", "64MiB");
    const dest = join(root, "restored");
    const result = await restore([stateDb, "--to", dest]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
  });
});

Deno.test("restore's report goes to stdout; progress and warnings stay on stderr", async () => {
  await withFolderBucket(async ({ root, backup, restore }) => {
    const stateDb = await backup();
    const dest = join(root, "restored");
    const first = await restore([stateDb, "--to", dest]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^restored \d+ entries \(.*\) into /m);
    assert.doesNotMatch(first.stderr, /^restored \d+ entries \(/m);

    const again = await restore([stateDb, "--to", join(root, "again"), "--include", "**/docs"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^restored \d+ entries/m);
  });
});

Deno.test("a finished restore whose destination was deleted or emptied restores again", async () => {
  await withFolderBucket(async ({ root, src, backup, restore }) => {
    const stateDb = await backup();
    const dest = join(root, "restored");
    assert.equal((await restore([stateDb, "--to", dest])).code, 0);
    const again = await restore([stateDb, "--to", dest]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already restored .*: nothing to do/);

    await Deno.remove(dest, { recursive: true });
    const deleted = await restore([stateDb, "--to", dest]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.doesNotMatch(deleted.stderr, /already restored/);
    assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);

    await Deno.remove(join(dest, archivePath(src).split("/")[0]), { recursive: true });
    const emptied = await restore([stateDb, "--to", dest]);
    assert.equal(emptied.code, 0, emptied.stderr);
    assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
  });
});

Deno.test("existing files are left alone and reported unless --overwrite", async () => {
  await withFolderBucket(async ({ root, src, backup, restore }) => {
    const stateDb = await backup();
    const dest = join(root, "restored");
    assert.equal((await restore([stateDb, "--to", dest])).code, 0);
    const restoredReadme = join(dest, archivePath(src), "docs/readme.md");
    await Deno.writeTextFile(restoredReadme, "edited by the user");

    const args = [stateDb, "--to", dest, "--include", "**/docs"];
    const careful = await restore(args);
    assert.equal(careful.code, 1, careful.stderr);
    assert.match(careful.stderr, /docs\/readme\.md: already exists; left alone \(use --overwrite/);
    assert.equal(await Deno.readTextFile(restoredReadme), "edited by the user");

    const bold = await restore([...args, "--overwrite"]);
    assert.equal(bold.code, 0, bold.stderr);
    assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
  });
});

Deno.test("wanted entries that cannot be restored are named, with exit code 1", async () => {
  await withFolderBucket(async ({ root, src, backup, restore }) => {
    const stateDb = await backup();
    const db = new DatabaseSync(stateDb);
    db.prepare("UPDATE files SET state = 'deleted' WHERE archive_path LIKE '%/docs/script.sh'")
      .run();
    db.close();
    const dest = join(root, "restored");
    const result = await restore([stateDb, "--to", dest, "--include", `${src}/docs`]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /cannot restore \S+\/docs\/script\.sh: it was deleted/);
    assert.ok((await Deno.lstat(join(dest, archivePath(src), "docs/readme.md"))).isFile);
    await assert.rejects(Deno.lstat(join(dest, archivePath(src), "docs/script.sh")));

    const none = await restore([stateDb, "--to", dest, "--include", "no/such/path"]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /nothing in backup \S+ matches/);
  });
});

Deno.test("a volume with an entry that climbs out of the folder is refused", async () => {
  await withFolderBucket(async ({ root, bucketDir, backup, restore }) => {
    const stateDb = await backup();
    const catalog = Catalog.open(stateDb);
    const volume = catalog.volumes()[0];
    const recipients = catalog.recipients();
    catalog.close();
    const content = new TextEncoder().encode("planted\n");
    const tar = new Uint8Array([
      ...encodeTarHeader({ path: "../escaped.txt", type: "file", size: 8, mode: 0o644, mtime: 0 }),
      ...content,
      ...new Uint8Array(tarPaddingLength(content.length)),
      ...TAR_END_OF_ARCHIVE,
    ]);
    const sealed = new Uint8Array(
      await new Response(
        ReadableStream.from([tar]).pipeThrough(compressStream("zstd")).pipeThrough(
          createEncryptStream(recipients),
        ),
      ).arrayBuffer(),
    );
    await Deno.writeFile(join(bucketDir, volume.objectKey), sealed);
    const db = new DatabaseSync(stateDb);
    db.prepare("UPDATE volumes SET size = ?, sha256 = ? WHERE id = ?").run(
      sealed.length,
      createHash("sha256").update(sealed).digest("hex"),
      volume.id,
    );
    db.close();

    const dest = join(root, "deep", "restored");
    const result = await restore([stateDb, "--to", dest]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /refusing entry "\.\.\/escaped\.txt": it would be written outside/);
    await assert.rejects(Deno.lstat(join(root, "deep", "escaped.txt")), Deno.errors.NotFound);
    await assert.rejects(Deno.lstat(join(dest, "escaped.txt")), Deno.errors.NotFound);
  });
});

Deno.test(
  where(
    needs("bash", "age"),
    "the catalog copy: encrypted to the backup's key, plain only without a key",
    async () => {
      await withFolderBucket(async ({ root, bucketDir, backup }) => {
        const encrypted = await backup();
        const catalog = Catalog.open(encrypted);
        const settings = catalog.settings();
        const files = catalog.fileTotals().reduce((n, t) => n + t.count, 0);
        catalog.close();
        const keyFile = join(root, "key.txt");
        await Deno.writeTextFile(keyFile, (await runCli(["key", "export", encrypted])).stdout);
        const copy = join(bucketDir, settings.backupId, "catalog.sqlite3.age");
        assert.doesNotMatch(await Deno.readTextFile(copy).catch(() => ""), /AGE-SECRET-KEY/);
        const opened = join(root, "copy.sqlite3");
        await sh(`age -d -i '${keyFile}' -o '${opened}' '${copy}'`);
        const fromCopy = Catalog.open(opened);
        assert.equal(
          fromCopy.fileTotals().reduce((n, t) => n + t.count, 0),
          files,
        );
        assert.equal(fromCopy.phase(), "done");
        fromCopy.close();

        const plain = await backup("--no-encrypt");
        const plainId = Catalog.open(plain);
        const plainSettings = plainId.settings();
        plainId.close();
        const plainCopy = join(bucketDir, plainSettings.backupId, "catalog.sqlite3");
        const db = new DatabaseSync(plainCopy, { readOnly: true });
        const keys = db.prepare("SELECT COUNT(*) AS n FROM keys").get() as { n: number };
        db.close();
        assert.equal(keys.n, 0);
        await assert.rejects(
          Deno.lstat(join(bucketDir, plainSettings.backupId, "catalog.sqlite3.age")),
          Deno.errors.NotFound,
        );
      });
    },
  ),
);

Deno.test(
  where(
    needs("bash", "age-keygen"),
    "a --recipient backup needs --identity, checked before anything is fetched",
    async () => {
      await withFolderBucket(async ({ root, src, backup, restore }) => {
        const keyFile = join(root, "mine.txt");
        const otherFile = join(root, "other.txt");
        await sh(
          `age-keygen -o '${keyFile}' 2>/dev/null; age-keygen -o '${otherFile}' 2>/dev/null`,
        );
        const recipient = (await sh(`age-keygen -y '${keyFile}'`)).trim();
        const stateDb = await backup("--recipient", recipient);
        const dest = join(root, "restored");
        const missing = await restore([stateDb, "--to", dest]);
        assert.equal(missing.code, 2, missing.stderr);
        assert.match(missing.stderr, /--identity FILE/);
        const wrong = await restore([stateDb, "--to", dest, "--identity", otherFile]);
        assert.equal(wrong.code, 2, wrong.stderr);
        assert.match(wrong.stderr, /none of the identities given opens this backup/);
        await assert.rejects(Deno.lstat(dest), Deno.errors.NotFound);
        const right = await restore([stateDb, "--to", dest, "--identity", keyFile]);
        assert.equal(right.code, 0, right.stderr);
        assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);
      });
    },
  ),
);
