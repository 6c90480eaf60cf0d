/**
 * Behaviour every `Storage` must share, run against the local folder storage and against S3 (moto,
 * and s3rver with its gaps named), and the multipart capability, run against S3 (moto).
 * `makeStorage` returns a fresh, empty store (a new folder or bucket) for each step.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { MultipartStorage, Storage } from "../../lib/storage/storage.ts";
import { collect, patternBytes, readAll, rejectsWithKind } from "./helpers.ts";
import { concatBytes } from "../../testing/bytes.ts";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();

/** What an S3-compatible server lacks; the suite then checks how glacier sees the gap. */
export interface ServerGaps {
  /** Listings report every object as STANDARD whatever its class (s3rver). */
  listsEveryClassAsStandard?: boolean;
  /** RestoreObject is not implemented: it must fail as `unsupported`, not be retried (s3rver). */
  noRestoreObject?: boolean;
}

/** Registers the shared storage behaviour as steps of test `t`. */
export async function storageConformance(
  t: Deno.TestContext,
  makeStorage: () => Promise<Storage>,
  gaps: ServerGaps = {},
): Promise<void> {
  const listedClass = (storageClass: string) =>
    gaps.listsEveryClassAsStandard ? "STANDARD" : storageClass;
  await t.step("checkAccess succeeds on a fresh store", async () => {
    const storage = await makeStorage();
    await storage.checkAccess();
  });

  await t.step("putObject, headObject and listObjects agree", async () => {
    const storage = await makeStorage();
    const one = patternBytes(1000, 1);
    await storage.putObject("b/one.bin", one, "STANDARD");
    await storage.putObject("b/sub/two.bin", encoder.encode("two"), "DEEP_ARCHIVE");
    await storage.putObject("c.bin", new Uint8Array(0), "STANDARD");

    const head = await storage.headObject("b/one.bin");
    assert.ok(head);
    assert.equal(head.key, "b/one.bin");
    assert.equal(head.size, 1000);
    assert.equal(head.storageClass, "STANDARD");
    assert.equal(head.restore, undefined);
    assert.equal((await storage.headObject("b/sub/two.bin"))?.storageClass, "DEEP_ARCHIVE");
    assert.equal((await storage.headObject("c.bin"))?.size, 0);
    assert.deepEqual(await readAll(await storage.getObject("b/one.bin")), one);
    assert.deepEqual(await readAll(await storage.getObject("c.bin")), new Uint8Array(0));

    const all = await collect(storage.listObjects(""));
    assert.deepEqual(all.map((o) => [o.key, o.size, o.storageClass]), [
      ["b/one.bin", 1000, "STANDARD"],
      ["b/sub/two.bin", 3, listedClass("DEEP_ARCHIVE")],
      ["c.bin", 0, "STANDARD"],
    ]);
    assert.deepEqual((await collect(storage.listObjects("b/"))).map((o) => o.key), [
      "b/one.bin",
      "b/sub/two.bin",
    ]);
    assert.deepEqual((await collect(storage.listObjects("b/o"))).map((o) => o.key), [
      "b/one.bin",
    ]);
    assert.deepEqual(await collect(storage.listObjects("nothing/")), []);
  });

  await t.step("putObject replaces an object and its storage class", async () => {
    const storage = await makeStorage();
    await storage.putObject("k", encoder.encode("first version"), "DEEP_ARCHIVE");
    await storage.putObject("k", encoder.encode("second"), "STANDARD");
    const head = await storage.headObject("k");
    assert.equal(head?.size, 6);
    assert.equal(head?.storageClass, "STANDARD");
    assert.equal(new TextDecoder().decode(await readAll(await storage.getObject("k"))), "second");
  });

  await t.step("listObjects returns many objects in key order", async () => {
    const storage = await makeStorage();
    const keys = Array.from({ length: 25 }, (_, i) => `many/${String(i).padStart(3, "0")}`);
    for (const key of [...keys].reverse()) {
      await storage.putObject(key, encoder.encode(key), "STANDARD");
    }
    const listed = await collect(storage.listObjects("many/"));
    assert.deepEqual(listed.map((o) => o.key), keys);
  });

  await t.step("putFile stores a local file whole, replacing an object; ranged reads", async () => {
    const storage = await makeStorage();
    const folder = await Deno.makeTempDir({ prefix: "glacier-put-file-" });
    try {
      // Larger than one part of a multipart store, so that it goes up in parts there.
      const whole = patternBytes(17 * MiB + 1234, 21);
      const path = join(folder, "volume");
      await Deno.writeFile(path, whole);
      const key = "backup/000001_volume.tar.zst.age";
      await storage.putObject(key, encoder.encode("an older object"), "DEEP_ARCHIVE");
      await storage.putFile(key, path, "STANDARD");
      const head = await storage.headObject(key);
      assert.equal(head?.size, whole.length);
      assert.equal(head?.storageClass, "STANDARD");
      assert.deepEqual(await readAll(await storage.getObject(key)), whole);
      assert.deepEqual(await Deno.readFile(path), whole, "the local file is left as it was");
      await assertRangedReads(storage, key, whole, 16 * MiB - 10);

      await Deno.writeFile(path, encoder.encode("small"));
      await storage.putFile("backup/small", path, "DEEP_ARCHIVE");
      const small = await storage.headObject("backup/small");
      assert.deepEqual([small?.size, small?.storageClass], [5, "DEEP_ARCHIVE"]);
      await rejectsWithKind(
        storage.putFile("backup/gone", join(folder, "missing"), "STANDARD"),
        "permanent",
        /gone/,
      );
      assert.equal(await storage.headObject("backup/gone"), undefined);
      assert.deepEqual((await collect(storage.listObjects("backup/"))).map((o) => o.key), [
        key,
        "backup/small",
      ]);
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  });

  await t.step("deleteObject removes an object and succeeds when it is gone", async () => {
    const storage = await makeStorage();
    await storage.putObject("d/keep", encoder.encode("keep"), "STANDARD");
    await storage.putObject("d/drop", encoder.encode("drop"), "DEEP_ARCHIVE");
    await storage.deleteObject("d/drop");
    assert.equal(await storage.headObject("d/drop"), undefined);
    assert.deepEqual((await collect(storage.listObjects("d/"))).map((o) => o.key), ["d/keep"]);
    await storage.deleteObject("d/drop");
    await storage.deleteObject("d/never-existed");
    await rejectsWithKind(storage.getObject("d/drop"), "not-found");
  });

  await t.step("missing objects", async () => {
    const storage = await makeStorage();
    assert.equal(await storage.headObject("missing/key"), undefined);
    await rejectsWithKind(storage.getObject("missing/key"), "not-found", /"missing\/key"/);
  });

  await t.step("restoreObject of an object that is not archived succeeds", async () => {
    const storage = await makeStorage();
    await storage.putObject("warm", encoder.encode("warm"), "STANDARD");
    if (gaps.noRestoreObject) {
      await rejectsWithKind(storage.restoreObject("warm", 1, "Bulk"), "unsupported");
    } else {
      await storage.restoreObject("warm", 1, "Bulk");
    }
    assert.equal(new TextDecoder().decode(await readAll(await storage.getObject("warm"))), "warm");
  });
}

/** Registers the behaviour of the multipart capability as steps of test `t`. */
export async function multipartConformance(
  t: Deno.TestContext,
  makeStorage: () => Promise<MultipartStorage>,
): Promise<void> {
  await t.step("multipart upload: parts, listing, completion and ranged reads", async () => {
    const storage = await makeStorage();
    const key = "backup/000001_volume.tar.zst.age";
    const parts = [
      patternBytes(5 * MiB, 11),
      patternBytes(5 * MiB, 12),
      patternBytes(5 * MiB, 13),
      patternBytes(1234, 14),
    ];
    const uploadId = await storage.createMultipartUpload(key, "STANDARD");
    assert.equal(await storage.headObject(key), undefined);

    const etags: string[] = [];
    etags.push((await storage.uploadPart(key, uploadId, 1, parts[0])).etag);
    // A part sent again (a resumed upload) replaces the first copy.
    await storage.uploadPart(key, uploadId, 2, patternBytes(5 * MiB, 99));
    etags.push((await storage.uploadPart(key, uploadId, 2, parts[1])).etag);

    const midway = (await storage.listParts(key, uploadId)).parts;
    assert.deepEqual(midway, [
      { partNumber: 1, etag: etags[0], size: 5 * MiB },
      { partNumber: 2, etag: etags[1], size: 5 * MiB },
    ]);
    const pending = await storage.listMultipartUploads("backup/");
    assert.deepEqual(pending.map((u) => [u.key, u.uploadId]), [[key, uploadId]]);
    assert.deepEqual(await collect(storage.listObjects("")), []);

    etags.push((await storage.uploadPart(key, uploadId, 3, parts[2])).etag);
    etags.push((await storage.uploadPart(key, uploadId, 4, parts[3])).etag);
    assert.deepEqual(
      (await storage.listParts(key, uploadId)).parts.map((p) => [p.partNumber, p.etag, p.size]),
      [[1, etags[0], 5 * MiB], [2, etags[1], 5 * MiB], [3, etags[2], 5 * MiB], [4, etags[3], 1234]],
    );
    // An upload of CRC32 parts is completed with each part's CRC32, as S3 requires.
    const withCrc32 = await storage.partChecksum() === "crc32";
    await storage.completeMultipartUpload(
      key,
      uploadId,
      etags.map((etag, i) => ({
        partNumber: i + 1,
        etag,
        ...(withCrc32 ? { crc32: crc32(parts[i]) } : {}),
      })),
    );

    const whole = concatBytes(parts);
    assert.equal((await storage.headObject(key))?.size, whole.length);
    assert.deepEqual(await readAll(await storage.getObject(key)), whole);
    await assertRangedReads(storage, key, whole, 5 * MiB - 10);
    assert.deepEqual(await storage.listMultipartUploads(""), []);
    await rejectsWithKind(storage.listParts(key, uploadId), "not-found");
  });

  await t.step("completing with a too-small part that is not the last fails for good", async () => {
    const storage = await makeStorage();
    const uploadId = await storage.createMultipartUpload("small", "STANDARD");
    const first = (await storage.uploadPart("small", uploadId, 1, patternBytes(1000, 1))).etag;
    const second = (await storage.uploadPart("small", uploadId, 2, patternBytes(1000, 2))).etag;
    await rejectsWithKind(
      storage.completeMultipartUpload("small", uploadId, [
        { partNumber: 1, etag: first },
        { partNumber: 2, etag: second },
      ]),
      "permanent",
      /EntityTooSmall|smaller/,
    );
    assert.equal(await storage.headObject("small"), undefined);
    await storage.abortMultipartUpload("small", uploadId);
  });

  await t.step("abortMultipartUpload removes the upload and may be repeated", async () => {
    const storage = await makeStorage();
    const uploadId = await storage.createMultipartUpload("x/aborted", "DEEP_ARCHIVE");
    await storage.uploadPart("x/aborted", uploadId, 1, patternBytes(100, 3));
    await storage.abortMultipartUpload("x/aborted", uploadId);
    await rejectsWithKind(storage.listParts("x/aborted", uploadId), "not-found");
    assert.deepEqual(await storage.listMultipartUploads(""), []);
    assert.equal(await storage.headObject("x/aborted"), undefined);
    await storage.abortMultipartUpload("x/aborted", uploadId);
  });

  await t.step("listMultipartUploads filters by prefix", async () => {
    const storage = await makeStorage();
    const first = await storage.createMultipartUpload("p1/a", "STANDARD");
    const second = await storage.createMultipartUpload("p1/b", "STANDARD");
    const other = await storage.createMultipartUpload("p2/a", "STANDARD");
    const byKey = (uploads: { key: string; uploadId: string }[]) =>
      uploads.map((u) => [u.key, u.uploadId]).sort();
    assert.deepEqual(byKey(await storage.listMultipartUploads("p1/")), [
      ["p1/a", first],
      ["p1/b", second],
    ]);
    assert.deepEqual(byKey(await storage.listMultipartUploads("p2/")), [["p2/a", other]]);
    assert.equal((await storage.listMultipartUploads("")).length, 3);
    assert.deepEqual(await storage.listMultipartUploads("p3/"), []);
    for (const [key, id] of [["p1/a", first], ["p1/b", second], ["p2/a", other]]) {
      await storage.abortMultipartUpload(key, id);
    }
  });

  await t.step("missing uploads", async () => {
    const storage = await makeStorage();
    const uploadId = await storage.createMultipartUpload("gone", "STANDARD");
    await storage.abortMultipartUpload("gone", uploadId);
    await rejectsWithKind(storage.listParts("gone", uploadId), "not-found", /"gone"/);
    await rejectsWithKind(storage.listParts("gone", "0123456789abcdef"), "not-found");
  });
}

/**
 * Checks ranged reads of the object `key`, whose bytes are `whole`: 20 bytes from `start` (across
 * a part boundary of a multipart object), and a range past the end, which is cut at the end.
 */
async function assertRangedReads(
  storage: Storage,
  key: string,
  whole: Uint8Array,
  start: number,
): Promise<void> {
  assert.deepEqual(
    await readAll(await storage.getObject(key, { start, end: start + 20 })),
    whole.slice(start, start + 20),
  );
  assert.deepEqual(
    await readAll(
      await storage.getObject(key, { start: whole.length - 5, end: whole.length + 50 }),
    ),
    whole.slice(whole.length - 5),
    "a range past the end is cut at the end",
  );
}
