/** `glacier list`: backups in a moto bucket (under a prefix) and in a file:// bucket. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { backupToMotoSandbox, makeMotoSandbox } from "../../testing/moto_sandbox.ts";
import { runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { makeTree, randomBytes } from "../../testing/tree.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { BackupTally, type ListedBackup } from "../../commands/list.ts";

const MiB = 1024 * 1024;

/** Backup id, volume count and volume bytes of a finished backup. */
function backupFacts(stateDb: string) {
  const catalog = Catalog.open(stateDb);
  try {
    const volumes = catalog.volumes();
    return {
      backupId: catalog.settings().backupId,
      volumes: volumes.length,
      bytes: volumes.reduce((n, v) => n + v.size!, 0),
    };
  } finally {
    catalog.close();
  }
}

Deno.test("list shows each backup under a prefix of an S3 bucket, with its catalog copy", async () => {
  const box = await makeMotoSandbox({ prefix: "glacier-list-test" });
  try {
    const { bucket, env, storage } = box;
    await makeTree(box.src, { smallFiles: 10, bigFiles: [1.5 * MiB] });
    const backup = (...extra: string[]) =>
      backupToMotoSandbox(box, "--prefix", "nightly", "--volume-size", "1MiB", ...extra);
    const first = await backup("--test-run");
    assert.equal(first.code, 0, first.stderr);
    const second = await backup("--storage-class", "GLACIER");
    assert.equal(second.code, 0, second.stderr);
    const a = backupFacts(stateDbFrom(first));
    const b = backupFacts(stateDbFrom(second));
    assert.ok(a.volumes >= 2);

    // Only the second backup keeps a catalog copy, whether or not backups upload one yet.
    await storage.deleteObject(`nightly/${a.backupId}/catalog.sqlite3.age`);
    const copyKey = `nightly/${b.backupId}/catalog.sqlite3.age`;
    if (!(await storage.headObject(copyKey))) {
      await storage.putObject(copyKey, randomBytes(1000), "STANDARD");
    }
    await storage.putObject("nightly/README.txt", new TextEncoder().encode("hi"), "STANDARD");
    await storage.putObject("elsewhere/x.bin", new Uint8Array(10), "STANDARD");

    const listed = await runCli(
      ["list", "--bucket", bucket, "--prefix", "nightly/", "--json"],
      { env },
    );
    assert.equal(listed.code, 0, listed.stderr);
    const backups = JSON.parse(listed.stdout) as ListedBackup[];
    assert.deepEqual(
      backups.map((x) => ({ ...x, lastModified: typeof x.lastModified })),
      [
        { ...a, prefix: "nightly", storageClasses: ["STANDARD"], catalog: false },
        { ...b, prefix: "nightly", storageClasses: ["GLACIER"], catalog: true },
      ].map((x) => ({
        backupId: x.backupId,
        prefix: x.prefix,
        started: x.backupId.replace(
          /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})$/,
          "$1-$2-$3 $4:$5:$6",
        ),
        volumes: x.volumes,
        bytes: x.bytes,
        storageClasses: x.storageClasses,
        catalog: x.catalog,
        otherObjects: 0,
        lastModified: "string",
      })),
    );

    const text = await runCli(["list", "--bucket", `s3://${bucket}`, "--prefix", "nightly"], {
      env,
    });
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^backup +started +volumes +size +class +catalog copy$/);
    assert.match(lines[1], new RegExp(`^${a.backupId} .* ${a.volumes} .* STANDARD +no$`));
    assert.match(lines[2], new RegExp(`^${b.backupId} .* ${b.volumes} .* GLACIER +yes$`));
    assert.match(lines[3], new RegExp(`^2 backups in s3://${bucket}( at \\S+)? under nightly/$`));
    assert.match(text.stderr, /1 object is not in a backup folder/);

    const top = await runCli(["list", "--bucket", bucket], { env });
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, new RegExp(`^no backups in s3://${bucket}( at \\S+)?\n$`));
    assert.match(top.stderr, /other folders \(try --prefix\): elsewhere\/, nightly\//);

    const missing = await runCli(["list", "--bucket", "no-such-bucket"], { env });
    assert.equal(missing.code, 3);
    assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
    assert.match(missing.stderr, /^error: .*no-such-bucket/);

    const invalid = await runCli(["list", "--bucket", "Not_A_Bucket"], { env });
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /^error: invalid bucket/);
  } finally {
    await box.cleanup();
  }
});

Deno.test("list works on a file:// bucket", async () => {
  const root = await Deno.makeTempDir({ prefix: "glacier-list-local-" });
  try {
    const src = join(root, "src");
    const bucket = join(root, "bucket");
    await Deno.mkdir(src);
    await Deno.mkdir(bucket);
    await makeTree(src, { bigFiles: [1.5 * MiB] });
    const made = await runCli([
      "backup",
      "--src-dirs",
      src,
      "--bucket",
      `file://${bucket}`,
      "--volume-size",
      "1MiB",
      "--state-dir",
      join(root, "state"),
    ]);
    assert.equal(made.code, 0, made.stderr);
    const facts = backupFacts(stateDbFrom(made));
    const listed = await runCli(["list", "--bucket", `file://${bucket}`, "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const [only, ...rest] = JSON.parse(listed.stdout) as ListedBackup[];
    assert.deepEqual(rest, []);
    assert.equal(only.backupId, facts.backupId);
    assert.equal(only.prefix, "");
    assert.equal(only.volumes, facts.volumes);
    assert.equal(only.bytes, facts.bytes);
    assert.deepEqual(only.storageClasses, ["DEEP_ARCHIVE"]);

    const absent = await runCli(["list", "--bucket", `file://${join(root, "nothing")}`]);
    assert.equal(absent.code, 3);
    assert.match(absent.stderr, /^error: /);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a folder bucket is accepted in the forms of the system and named so it can be pasted back", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "glacier-list-forms-" }));
  try {
    const bucket = join(root, "my bucket");
    await Deno.mkdir(bucket);
    const windows = Deno.build.os === "windows";
    const pasteable = windows ? `file:///${bucket.replaceAll("\\", "/")}` : `file://${bucket}`;
    const forms = windows
      ? [
        bucket, // C:\x
        `file:${bucket}`,
        `file://${bucket}`,
        pasteable,
        `file://${bucket.slice(2).replaceAll("\\", "/")}`, // no drive: the current one
        pasteable.replace(" ", "%20"),
      ]
      : [`file:${bucket}`, pasteable, pasteable.replace(" ", "%20")];
    for (const form of forms) {
      const listed = await runCli(["list", "--bucket", form], { cwd: root });
      assert.equal(listed.code, 0, `${form}: ${listed.stderr}`);
      assert.equal(listed.stdout, `no backups in ${pasteable}\n`, form);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("BackupTally sums objects per backup id in any order and sets the rest aside", () => {
  const tally = new BackupTally("p/");
  const object = (key: string, size = 0, storageClass = "DEEP_ARCHIVE", day = 1) => ({
    key,
    size,
    storageClass,
    lastModified: new Date(Date.UTC(2026, 0, day)),
  });
  for (
    const o of [
      object("p/20260102_030405/000002_b.tar.zst.age", 20, "DEEP_ARCHIVE", 3),
      object("p/20260101_000000/000001_a.tar", 5, "STANDARD"),
      object("p/20260102_030405/000001_b.tar.zst.age", 10, "GLACIER", 2),
      object("p/20260102_030405/catalog.sqlite3.age", 99, "STANDARD", 4),
      object("p/20260102_030405/notes.txt", 7),
      object("p/20260102_030405/sub/000003_x.tar", 7),
      object("p/2026_bad/000001_x.tar", 7),
      object("p/loose.txt", 7),
      object("other/20260101_000000/000001_a.tar", 5),
    ]
  ) tally.add(o);
  assert.deepEqual(tally.backups(), [
    {
      backupId: "20260101_000000",
      prefix: "p",
      started: "2026-01-01 00:00:00",
      volumes: 1,
      bytes: 5,
      storageClasses: ["STANDARD"],
      catalog: false,
      otherObjects: 0,
      lastModified: "2026-01-01T00:00:00.000Z",
    },
    {
      backupId: "20260102_030405",
      prefix: "p",
      started: "2026-01-02 03:04:05",
      volumes: 2,
      bytes: 30,
      storageClasses: ["DEEP_ARCHIVE", "GLACIER"],
      catalog: true,
      otherObjects: 2,
      lastModified: "2026-01-04T00:00:00.000Z",
    },
  ]);
  assert.equal(
    tally.otherFoldersHint(),
    "note: 2 objects are not in a backup folder; other folders (try --prefix): p/2026_bad/",
  );
});
