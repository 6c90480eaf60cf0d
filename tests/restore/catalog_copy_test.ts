/**
 * The catalog copy round trip: a large catalog goes up in parts (to a store with multipart
 * uploads), comes back decrypted into a state database named after the backup, and a second
 * fetch reuses that file. A damaged copy stops a restore as damage (exit 3, naming the object); a
 * wrong key stays bad input (exit 2).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Catalog, type NewFile } from "../../lib/catalog/catalog.ts";
import type { BackupSettings } from "../../lib/catalog/settings.ts";
import { uploadCatalogCopy } from "../../lib/backup/catalog_copy.ts";
import { catalogCopyKey } from "../../lib/archive/layout.ts";
import { generateIdentity, recipientFromIdentity } from "../../lib/crypto/age.ts";
import { fetchCatalogCopy } from "../../lib/restore/catalog_copy_fetch.ts";
import type { MultipartStorage } from "../../lib/storage/storage.ts";
import { testStorage } from "../../testing/moto_sandbox.ts";
import { createBucket, startMoto } from "../../testing/moto.ts";
import { runCli } from "../../testing/run_cli.ts";
import { randomBytes } from "../../testing/tree.ts";
import { sh } from "../../testing/volumes.ts";
import { withFolderBucket } from "./helpers.ts";
import { needs, underWine, where } from "../../testing/platform.ts";

/** `inner`, counting uploaded parts (its own `putFile` sends them through the proxy too). */
function countingParts(
  inner: MultipartStorage,
): { storage: MultipartStorage; parts: () => number } {
  let parts = 0;
  const storage = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === "uploadPart") parts++;
      return Reflect.get(target, property, receiver);
    },
  });
  return { storage, parts: () => parts };
}

Deno.test("a large catalog copy goes up in parts and comes back as a state database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-catalog-copy-test-" });
  const moto = await startMoto();
  try {
    const settings: BackupSettings = {
      backupId: "20261127_031500",
      sourceDirs: ["/src"],
      bucket: `file://${join(dir, "bucket")}`,
      prefix: "nightly",
      workDir: dir,
      workDirIsTemporary: false,
      baseName: "backup.tar",
      volumeSize: 1 << 30,
      compression: "zstd",
      encrypt: true,
      storageClass: "DEEP_ARCHIVE",
      uploadWorkers: 2,
      excludes: [],
    };
    const identity = generateIdentity();
    const catalog = Catalog.create(join(dir, "original.sqlite3"), settings, {
      identity,
      recipients: [recipientFromIdentity(identity)],
    });
    const long = "x".repeat(300);
    for (let batch = 0; batch < 60; batch++) {
      const files: NewFile[] = Array.from({ length: 1000 }, (_, i) => ({
        path: `/src/${long}/${batch}/${i}`,
        archivePath: `src/${long}/${batch}/${i}`,
        type: "file",
        size: i,
        mtimeMs: 0,
        mode: 0o644,
        linkTarget: null,
      }));
      catalog.insertFiles(files);
    }
    await createBucket(moto.endpoint, "catalog-copy");
    const { storage, parts } = countingParts(testStorage(moto.endpoint, "catalog-copy"));
    await uploadCatalogCopy(catalog, storage);
    catalog.close();
    assert.ok(parts() >= 2, `expected a multipart upload, got ${parts()} parts`);
    const info = await storage.headObject(catalogCopyKey(settings, true));
    assert.equal(info?.storageClass, "STANDARD");
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes("copy")),
      [],
      "no snapshot is left behind",
    );

    const stateDir = join(dir, "state");
    await Deno.mkdir(stateDir);
    const options = {
      storage,
      backupId: settings.backupId,
      prefix: "nightly",
      identities: [identity],
      stateDir,
    };
    const fetched = await fetchCatalogCopy(options);
    assert.deepEqual(fetched, {
      path: join(stateDir, "20261127_031500_backup_statedb.sqlite3"),
      downloaded: true,
      // Wine keeps no access lists, so the file cannot be limited to the user, and says so.
      ...(underWine ? { notOwnerOnly: "its access list does not show the change" } : {}),
    });
    const copy = Catalog.open(fetched.path);
    assert.equal(copy.fileTotals().reduce((n, t) => n + t.count, 0), 60_000);
    assert.equal(copy.identity(), identity);
    copy.close();
    assert.deepEqual(await fetchCatalogCopy(options), { path: fetched.path, downloaded: false });
    await assert.rejects(
      fetchCatalogCopy({ ...options, stateDir: join(dir, "other"), backupId: "20200101_000000" }),
      /no catalog copy of backup 20200101_000000/,
    );
  } finally {
    await moto.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  where(
    needs("bash", "age", "age-keygen"),
    "a damaged catalog copy is damage (exit 3, naming the object); a wrong key exit 2",
    async () => {
      await withFolderBucket(async ({ root, bucketDir, backup, restore }) => {
        const stateDb = await backup();
        const catalog = Catalog.open(stateDb);
        const { backupId } = catalog.settings();
        catalog.close();
        const keyFile = join(root, "key.txt");
        const otherKey = join(root, "other.txt");
        await Deno.writeTextFile(keyFile, (await runCli(["key", "export", stateDb])).stdout);
        await sh(`age-keygen -o '${otherKey}' 2>/dev/null`);
        const recipient = (await sh(`age-keygen -y '${keyFile}'`)).trim();
        const copyKey = `${backupId}/catalog.sqlite3.age`;
        const copyPath = join(bucketDir, copyKey);
        const original = await Deno.readFile(copyPath);
        const restoreFromCopy = (identity: string) =>
          restore([
            "--bucket",
            `file://${bucketDir}`,
            "--backup-id",
            backupId,
            "--identity",
            identity,
            "--state-dir",
            join(root, "new-state"),
            "--to",
            join(root, "restored"),
            "--yes",
          ]);

        const wrongKey = await restoreFromCopy(otherKey);
        assert.equal(wrongKey.code, 2, wrongKey.stderr);
        assert.match(
          wrongKey.stderr,
          new RegExp(`cannot decrypt the catalog copy ${copyKey}: no identity`),
        );

        const flipped = original.slice();
        flipped[flipped.length - 100] ^= 1;
        const notSqlite = join(root, "not-sqlite.age");
        await Deno.writeFile(join(root, "not-sqlite"), randomBytes(5000));
        await sh(`age -r ${recipient} -o '${notSqlite}' '${join(root, "not-sqlite")}'`);
        const damages: [string, Uint8Array, RegExp][] = [
          ["garbage", randomBytes(original.length), /is damaged: not an age encrypted file/],
          ["truncated", original.slice(0, original.length - 100), /is damaged: .*truncated/],
          ["flipped byte", flipped, /is damaged: /],
          [
            "valid age, not SQLite",
            await Deno.readFile(notSqlite),
            /is not a usable state database/,
          ],
        ];
        for (const [what, bytes, reason] of damages) {
          await Deno.writeFile(copyPath, bytes);
          const result = await restoreFromCopy(keyFile);
          assert.equal(result.code, 3, `${what}: ${result.stderr}`);
          assert.match(result.stderr, new RegExp(`error: the catalog copy ${copyKey} `), what);
          assert.match(result.stderr, reason, what);
          await assert.rejects(Deno.lstat(join(root, "restored")), Deno.errors.NotFound, what);
        }

        await Deno.writeFile(copyPath, original);
        const intact = await restoreFromCopy(keyFile);
        assert.equal(intact.code, 0, intact.stderr);
      });
    },
  ),
);
