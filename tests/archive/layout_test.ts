/** The bucket layout (lib/archive/layout.ts): every name it builds, it parses back; nothing else. */
import assert from "node:assert/strict";
import {
  backupFolderKey,
  backupIdFor,
  backupIdOfStateDbName,
  backupIdStarted,
  backupObjectKind,
  catalogCopyKey,
  isBackupId,
  isVolumeFileOf,
  normalizePrefix,
  objectKey,
  parseBucketKey,
  prefixFolderKey,
  prefixProblem,
  stateDbName,
  volumeName,
} from "../../lib/archive/layout.ts";

const BAD_IDS = [
  "",
  "2026010_000000",
  "20260101_00000",
  "20260101-000000",
  "20260101_000000x",
  " 20260101_000000",
  "2026010a_000000",
  "../20260101_000000",
  "20260101_000000/",
  "２０２６０１０１_０００００0",
];

Deno.test("a backup id is the local time, and reads back as that time", () => {
  const moment = new Date(2026, 10, 27, 3, 15, 0, 999);
  const id = backupIdFor(moment);
  assert.equal(id, "20261127_031500");
  assert.ok(isBackupId(id));
  assert.equal(backupIdStarted(id), "2026-11-27 03:15:00");
  for (const month of [0, 5, 11]) {
    const date = new Date(1999, month, 9, 23, 59, 58);
    const started = backupIdStarted(backupIdFor(date))!;
    assert.equal(started, `1999-${String(month + 1).padStart(2, "0")}-09 23:59:58`);
  }
});

Deno.test("ids of any other shape are refused", () => {
  for (const bad of BAD_IDS) {
    assert.equal(isBackupId(bad), false, JSON.stringify(bad));
    assert.equal(backupIdStarted(bad), undefined, JSON.stringify(bad));
    assert.equal(backupIdOfStateDbName(stateDbName(bad)), undefined, JSON.stringify(bad));
  }
});

Deno.test("a state database name carries its backup id and gives it back", () => {
  const name = stateDbName("20261127_031500");
  assert.equal(name, "20261127_031500_backup_statedb.sqlite3");
  assert.equal(backupIdOfStateDbName(name), "20261127_031500");
  for (
    const other of [
      "20261127_031500_backup_statedb.sqlite3-journal",
      "20261127_031500_backup_statedb.sqlite3.lock",
      "x20261127_031500_backup_statedb.sqlite3",
      "_backup_statedb.sqlite3",
      "20261127_031500.log",
    ]
  ) {
    assert.equal(backupIdOfStateDbName(other), undefined, other);
  }
});

Deno.test("prefixes lose outer and doubled slashes; . and .. segments are refused", () => {
  assert.equal(normalizePrefix("/a//b/"), "a/b");
  assert.equal(normalizePrefix("///"), "");
  assert.equal(normalizePrefix(""), "");
  assert.equal(prefixProblem("nightly/host-1"), undefined);
  for (const bad of ["..", "a/../b", "./a", "a/.", "/../"]) {
    assert.match(prefixProblem(bad)!, /may not contain "\." or "\.\." segments/, bad);
  }
  assert.equal(prefixFolderKey(""), "");
  assert.equal(prefixFolderKey("a/b"), "a/b/");
});

Deno.test("volume names and keys are built from the settings", () => {
  const backup = { prefix: "nightly", backupId: "20260101_000000" };
  const naming = { baseName: "output.tar", compression: "zstd" as const, encrypt: true };
  assert.equal(volumeName(naming, 1), "000001_output.tar.zst.age");
  assert.equal(
    volumeName({ ...naming, compression: "gzip", encrypt: false }, 12),
    "000012_output.tar.gz",
  );
  assert.equal(
    volumeName({ ...naming, compression: "none", encrypt: false }, 7),
    "000007_output.tar",
  );
  assert.equal(volumeName(naming, 1234567), "1234567_output.tar.zst.age");
  assert.equal(objectKey(backup, "000001_output.tar"), "nightly/20260101_000000/000001_output.tar");
  assert.equal(objectKey({ ...backup, prefix: "" }, "x"), "20260101_000000/x");
  assert.equal(backupFolderKey(backup), "nightly/20260101_000000/");
  assert.equal(backupFolderKey({ ...backup, prefix: "" }), "20260101_000000/");
  assert.equal(catalogCopyKey(backup, true), "nightly/20260101_000000/catalog.sqlite3.age");
  assert.equal(catalogCopyKey(backup, false), "nightly/20260101_000000/catalog.sqlite3");
});

Deno.test("every key the layout builds parses back into prefix, backup id and name", () => {
  const naming = { baseName: "backup.tar", compression: "zstd" as const, encrypt: true };
  for (const prefix of ["", "p", "a/b/c"]) {
    const backup = { prefix, backupId: backupIdFor(new Date(2026, 0, 2, 3, 4, 5)) };
    const volume = volumeName(naming, 3);
    assert.deepEqual(parseBucketKey(objectKey(backup, volume), prefix), {
      ...backup,
      name: volume,
    });
    assert.equal(backupObjectKind(volume), "volume");
    for (const encrypted of [true, false]) {
      const key = parseBucketKey(catalogCopyKey(backup, encrypted), prefix)!;
      assert.equal(key.backupId, backup.backupId);
      assert.equal(backupObjectKind(key.name), "catalog-copy");
    }
  }
});

Deno.test("keys outside a backup folder under the prefix do not parse", () => {
  for (
    const key of [
      "p/loose.txt",
      "p/20260101_000000/",
      "p/20260101_000000",
      "p/2026_bad/000001_x.tar",
      "q/20260101_000000/000001_x.tar",
      "20260101_000000/000001_x.tar",
      "p/x/20260101_000000/000001_x.tar",
    ]
  ) {
    assert.equal(parseBucketKey(key, "p"), undefined, key);
  }
  assert.deepEqual(parseBucketKey("p/20260101_000000/sub/x", "p"), {
    prefix: "p",
    backupId: "20260101_000000",
    name: "sub/x",
  });
});

Deno.test("objects in a backup folder that the program never writes are other objects", () => {
  for (
    const name of [
      "notes.txt",
      "sub/000003_x.tar",
      "000001_",
      "000001_a\\b.tar",
      "catalog.sqlite3.bak",
      "catalog.sqlite3.age/x",
    ]
  ) {
    assert.equal(backupObjectKind(name), "other", name);
  }
});

Deno.test("the volume files of a work folder are told from the user's files beside them", () => {
  for (const own of ["000001_out.tar.zst.age", "000002_out.tar.zst.age.partial"]) {
    assert.ok(isVolumeFileOf("out.tar", own), own);
  }
  for (
    const theirs of [
      "out.tar",
      "000001_other.tar",
      "1_out.tar",
      "0000001_out.tar",
      "a000001_out.tar",
    ]
  ) {
    assert.equal(isVolumeFileOf("out.tar", theirs), false, theirs);
  }
  assert.ok(isVolumeFileOf("a.b+(c)", "000001_a.b+(c).zst"), "no pattern characters in base names");
  assert.equal(isVolumeFileOf("a.b", "000001_aXb.zst"), false);
});
