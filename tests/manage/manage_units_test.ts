/** Unit tests of the pieces behind show, sync and decrypt. */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { VolumeRecord, VolumeState } from "../../lib/catalog/catalog.ts";
import { folderPrefix } from "../../lib/catalog/listing.ts";
import { BucketReconciler } from "../../lib/manage/bucket_reconciler.ts";
import { LineWriter } from "../../lib/manage/line_writer.ts";
import { decryptVolumeFile } from "../../lib/manage/volume_file.ts";
import {
  AgeError,
  createEncryptStream,
  generateIdentity,
  recipientFromIdentity,
} from "../../lib/crypto/age.ts";
import { randomBytes } from "../../testing/tree.ts";

function volume(id: number, state: VolumeState, size: number | null = 100): VolumeRecord {
  const name = `${String(id).padStart(6, "0")}_output.tar.zst.age`;
  return {
    id,
    name,
    objectKey: `p/20250101_000000/${name}`,
    storageClass: "DEEP_ARCHIVE",
    firstFileId: id,
    lastFileId: id,
    plannedBytes: 100,
    state,
    size,
    sha256: null,
    uploadId: null,
    partSize: null,
  };
}

const object = (key: string, size = 100) => ({ key, size, storageClass: "DEEP_ARCHIVE" });

Deno.test("folderPrefix keeps the first N levels of the folder holding an entry", () => {
  assert.equal(folderPrefix("home/me/docs/a.txt", 2), "home/me");
  assert.equal(folderPrefix("home/me/docs/a.txt", 3), "home/me/docs");
  assert.equal(folderPrefix("home/me/docs/sub/b.txt", 3), "home/me/docs");
  assert.equal(folderPrefix("home/me/docs/a.txt", 9), "home/me/docs");
  assert.equal(folderPrefix("top.txt", 2), ".");
  assert.equal(folderPrefix("C/Users/me/x.txt", 1), "C");
});

Deno.test("BucketReconciler classifies every object and every unseen volume", () => {
  const volumes = [
    volume(1, "uploaded"),
    volume(2, "uploaded"),
    volume(3, "missing"),
    volume(4, "missing"),
    volume(5, "deleted"),
    volume(6, "planned"),
    volume(7, "built"),
    volume(8, "uploaded"),
    volume(9, "missing"),
  ];
  const r = new BucketReconciler(volumes, "p/20250101_000000/");
  const key = (id: number) => volumes[id - 1].objectKey;
  assert.equal(r.see(object(key(1))), undefined);
  assert.deepEqual(r.see(object(key(2), 99)), {
    kind: "size-mismatch",
    volume: volumes[1],
    remoteSize: 99,
  });
  assert.deepEqual(r.see(object(key(3))), { kind: "back", volume: volumes[2] });
  assert.deepEqual(r.see(object(key(5))), {
    kind: "deleted-but-present",
    volume: volumes[4],
    remoteSize: 100,
  });
  assert.equal(r.see(object(key(6))), undefined);
  assert.equal(r.see(object(key(7), 5)), undefined);
  assert.deepEqual(r.see(object(key(9), 1)), {
    kind: "size-mismatch",
    volume: volumes[8],
    remoteSize: 1,
  });
  assert.equal(r.see(object("p/20250101_000000/catalog.sqlite3.age")), undefined);
  assert.equal(r.see(object("p/20250101_000000/catalog.sqlite3")), undefined);
  assert.deepEqual(r.see(object("p/20250101_000000/notes.txt", 7)), {
    kind: "unknown",
    key: "p/20250101_000000/notes.txt",
    size: 7,
  });
  assert.deepEqual(r.finish(), [
    { kind: "still-missing", volume: volumes[3] },
    { kind: "gone", volume: volumes[7] },
  ]);
  assert.equal(r.matched, 2);
});

Deno.test("LineWriter batches lines and stops quietly when the reader goes away", async () => {
  const writes: Uint8Array[] = [];
  const writer = new LineWriter({
    write: (data) => {
      // Accept at most 1000 bytes per call, like a pipe that is nearly full.
      const taken = data.subarray(0, 1000).slice();
      writes.push(taken);
      return Promise.resolve(taken.length);
    },
  });
  for (let i = 0; i < 20_000; i++) await writer.line(`line ${i}`);
  await writer.flush();
  const text = new TextDecoder().decode(
    new Uint8Array(writes.flatMap((w) => [...w])),
  );
  assert.equal(text.split("\n").length, 20_001);
  assert.ok(text.startsWith("line 0\nline 1\n") && text.endsWith("line 19999\n"));

  let calls = 0;
  const broken = new LineWriter({
    write: () => {
      calls++;
      return Promise.reject(new Deno.errors.BrokenPipe("closed"));
    },
  });
  await broken.line("x".repeat(70_000));
  assert.equal(broken.closed, true);
  await broken.line("more");
  await broken.flush();
  assert.equal(calls, 1);
});

Deno.test("decryptVolumeFile leaves nothing behind when a late chunk fails authentication", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-volume-file-" });
  try {
    const identity = generateIdentity();
    const plain = randomBytes(300_000); // several 64 KiB chunks
    const encrypted = new Uint8Array(
      await new Response(
        ReadableStream.from([plain]).pipeThrough(
          createEncryptStream([recipientFromIdentity(identity)]),
        ),
      ).arrayBuffer(),
    );
    const good = join(dir, "good.tar.age");
    await Deno.writeFile(good, encrypted);
    await decryptVolumeFile(good, join(dir, "good.tar"), [identity]);
    assert.deepEqual(await Deno.readFile(join(dir, "good.tar")), plain);

    const bad = join(dir, "bad.tar.age");
    const flipped = encrypted.slice();
    flipped[flipped.length - 100] ^= 0x80;
    await Deno.writeFile(bad, flipped);
    await assert.rejects(
      decryptVolumeFile(bad, join(dir, "bad.tar"), [identity]),
      (error) => error instanceof AgeError && /failed authentication/.test(error.message),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "bad.tar.age",
      "good.tar",
      "good.tar.age",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
