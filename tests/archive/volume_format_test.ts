/**
 * The volume format in one module: what `encodeVolume` writes, `decodeVolume` reads back, for
 * every compression with and without encryption, on the worker pool or not; the reference `age`
 * and `zstd` read it too, and `decryptVolume` leaves the compressed TAR that `zstd -d` reads.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CompressorPool } from "../../lib/archive/compress_pool.ts";
import {
  decodeVolume,
  decryptVolume,
  encodeVolume,
  type VolumeFormat,
} from "../../lib/archive/volume_format.ts";
import { AgeError, generateIdentity, recipientFromIdentity } from "../../lib/crypto/age.ts";
import {
  randomlyChunked,
  readAll,
  runOk,
  testBytes,
  withTempDir,
} from "../crypto/age_test_helpers.ts";
import { needs, where } from "../../testing/platform.ts";

/** Some compressible text and some random bytes: several compression segments. */
function sample(): Uint8Array {
  const text = new TextEncoder().encode("a volume is tar, then zstd, then age. ".repeat(120_000));
  const data = new Uint8Array(text.length + 700_000);
  data.set(text);
  data.set(testBytes(700_000, 7), text.length);
  return data;
}

const identity = generateIdentity();
const recipients = [recipientFromIdentity(identity)];

for (const compression of ["zstd", "gzip", "none"] as const) {
  for (const encrypt of [true, false]) {
    for (const pooled of compression === "none" ? [false] : [true, false]) {
      const format: VolumeFormat = { compression, encrypt };
      const name = `${compression}${encrypt ? " + age" : ""}${pooled ? " on the pool" : ""}`;
      Deno.test(`volume format: ${name} decodes back to the same TAR bytes`, async () => {
        const pool = pooled ? new CompressorPool(2) : undefined;
        try {
          const data = sample();
          const volume = await readAll(
            encodeVolume(randomlyChunked(data, 3), format, { recipients, pool }),
          );
          if (compression !== "none") assert.ok(volume.length < data.length, "compressed");
          if (encrypt) {
            assert.equal(new TextDecoder().decode(volume.subarray(0, 21)), "age-encryption.org/v1");
          }
          const back = await readAll(
            decodeVolume(randomlyChunked(volume, 5), format, [identity]),
          );
          assert.deepEqual(back, data);
        } finally {
          pool?.close();
        }
      });
    }
  }
}

Deno.test(
  where(
    needs("age", "zstd"),
    "volume format: age -d then zstd -d read an encoded volume; decryptVolume leaves zstd",
    async () => {
      await withTempDir(async (dir) => {
        const data = sample();
        const format: VolumeFormat = { compression: "zstd", encrypt: true };
        const pool = new CompressorPool(2);
        let volume: Uint8Array;
        try {
          volume = await readAll(
            encodeVolume(randomlyChunked(data, 9), format, { recipients, pool }),
          );
        } finally {
          pool.close();
        }
        const keyFile = join(dir, "key.txt");
        await Deno.writeTextFile(keyFile, `${identity}\n`);
        const compressed = await runOk("age", ["-d", "-i", keyFile], volume);
        assert.deepEqual(await runOk("zstd", ["-d", "-c"], compressed), data);
        const ours = await readAll(decryptVolume(randomlyChunked(volume, 11), [identity]));
        assert.deepEqual(ours, compressed);
      });
    },
  ),
);

Deno.test("volume format: a foreign identity fails decoding with an AgeError", async () => {
  const format: VolumeFormat = { compression: "zstd", encrypt: true };
  const volume = await readAll(
    encodeVolume(randomlyChunked(sample(), 1), format, { recipients }),
  );
  await assert.rejects(
    readAll(decodeVolume(randomlyChunked(volume, 2), format, [generateIdentity()])),
    AgeError,
  );
});

Deno.test("volume format: an unencrypted volume's chunks handed over are freed once read, and only then", async () => {
  const format: VolumeFormat = { compression: "zstd", encrypt: false };
  const data = sample();
  const volume = await readAll(encodeVolume(randomlyChunked(data, 3), format, { recipients }));
  for (const ownInput of [true, false]) {
    // Chunks of 64 KiB, each a buffer of its own, as the decoding worker reads them.
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    for (let at = 0; at < volume.length; at += 65536) chunks.push(volume.slice(at, at + 65536));
    const input = ReadableStream.from(chunks);
    const back = await readAll(decodeVolume(input, format, [], { ownInput }));
    assert.deepEqual(back, data);
    const freed = chunks.filter((chunk) => chunk.buffer.detached).length;
    // Handed over, every chunk is freed once decompressed (the last at the end of the stream);
    // not handed over, none is touched (the caller may still hold them).
    assert.equal(freed, ownInput ? chunks.length - 1 : 0, `ownInput ${ownInput}`);
  }
});
