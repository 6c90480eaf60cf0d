/**
 * `decodeVolumeFile`: a volume file decoded on a worker thread gives the same TAR bytes as
 * `decodeVolume`, in bounded batches, for each format; its failures come back as the
 * same kinds of error with their one-line messages; its end, an error or a cancel stops the
 * worker (counted by `decodeWorkersRunning`). Given the size and SHA-256 the file must have, the
 * worker refuses any other file before sending a byte of it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CompressorPool } from "../../lib/archive/compress_pool.ts";
import {
  DECODE_BATCH_BYTES,
  decodeVolumeFile,
  decodeWorkersRunning,
  VolumeDecoder,
} from "../../lib/archive/volume_decoder.ts";
import { encodeVolume, type VolumeFormat } from "../../lib/archive/volume_format.ts";
import { ZstdFrameError } from "../../lib/archive/zstd_frames.ts";
import { ChecksumError } from "../../lib/archive/volume_check.ts";
import { createHash } from "node:crypto";
import {
  AgeError,
  generateIdentity,
  NoMatchingIdentityError,
  recipientFromIdentity,
} from "../../lib/crypto/age.ts";
import { readAll, testBytes, withTempDir } from "../crypto/age_test_helpers.ts";
import { skipOnWindows, where } from "../../testing/platform.ts";

/** An encrypted zstd volume of `sample()` written in `dir`, with the check the catalog would hold. */
async function checkedVolume(dir: string) {
  const format: VolumeFormat = { compression: "zstd", encrypt: true };
  const path = join(dir, "volume");
  const data = sample();
  await writeVolume(path, data, format);
  const bytes = await Deno.readFile(path);
  const check = {
    key: "b/000001_x.tar.zst.age",
    size: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
  return { format, path, data, bytes, check };
}

/** Reading a volume where it lies needs to know who may write it, which Windows does not tell. */
const IN_PLACE = skipOnWindows(
  "a volume is read where it lies only where the system tells its owner",
);

const identity = generateIdentity();
const recipients = [recipientFromIdentity(identity)];

/** Compressible text and random bytes: several compression frames, several batches. */
function sample(): Uint8Array {
  const text = new TextEncoder().encode(
    "decoded on a worker, read on the main thread. ".repeat(90_000),
  );
  const data = new Uint8Array(text.length + 3_000_000);
  data.set(text);
  data.set(testBytes(3_000_000, 11), text.length);
  return data;
}

/** Encodes `data` (a copy: the encoder frees what it takes) into the volume file at `path`. */
async function writeVolume(path: string, data: Uint8Array, format: VolumeFormat): Promise<void> {
  const pool = new CompressorPool(2);
  try {
    const volume = await readAll(encodeVolume(ReadableStream.from([data.slice()]), format, {
      recipients,
      pool,
    }));
    await Deno.writeFile(path, volume);
  } finally {
    pool.close();
  }
}

/** The chunks of a stream, kept apart. */
async function chunksOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk.slice());
  return chunks;
}

for (const compression of ["zstd", "gzip", "none"] as const) {
  for (const encrypt of [true, false]) {
    const format: VolumeFormat = { compression, encrypt };
    Deno.test(
      `decodeVolumeFile: ${compression}${encrypt ? " + age" : ""} gives back the TAR bytes`,
      async () => {
        await withTempDir(async (dir) => {
          const data = sample();
          const path = join(dir, "volume");
          await writeVolume(path, data, format);
          const chunks = await chunksOf(decodeVolumeFile(path, format, [identity]));
          // Bounded batches: a decompressor's buffer (1-2 MiB) or gathered pieces (1 MiB).
          assert.ok(chunks.every((chunk) => chunk.length <= 4 * DECODE_BATCH_BYTES));
          assert.ok(chunks.length > 1, "more than one batch");
          const back = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
          let offset = 0;
          for (const chunk of chunks) {
            back.set(chunk, offset);
            offset += chunk.length;
          }
          assert.deepEqual(back, data);
          assert.equal(decodeWorkersRunning(), 0, "the worker stops at the end");
        });
      },
    );
  }
}

Deno.test("decodeVolumeFile: a damaged chunk fails with the AgeError it fails with here", async () => {
  await withTempDir(async (dir) => {
    const format: VolumeFormat = { compression: "zstd", encrypt: true };
    const path = join(dir, "volume");
    await writeVolume(path, sample(), format);
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 100] ^= 1;
    await Deno.writeFile(path, bytes);
    await assert.rejects(chunksOf(decodeVolumeFile(path, format, [identity])), (error) => {
      assert.ok(error instanceof AgeError, String(error));
      assert.match(error.message, /failed authentication/);
      return true;
    });
    assert.equal(decodeWorkersRunning(), 0, "the worker stops at an error");
  });
});

Deno.test("decodeVolumeFile: a wrong key fails with NoMatchingIdentityError", async () => {
  await withTempDir(async (dir) => {
    const format: VolumeFormat = { compression: "zstd", encrypt: true };
    const path = join(dir, "volume");
    await writeVolume(path, sample(), format);
    await assert.rejects(
      chunksOf(decodeVolumeFile(path, format, [generateIdentity()])),
      NoMatchingIdentityError,
    );
  });
});

Deno.test("decodeVolumeFile: a cut zstd stream fails with ZstdFrameError", async () => {
  await withTempDir(async (dir) => {
    const format: VolumeFormat = { compression: "zstd", encrypt: false };
    const path = join(dir, "volume");
    await writeVolume(path, sample(), format);
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 10));
    await assert.rejects(chunksOf(decodeVolumeFile(path, format, [])), ZstdFrameError);
  });
});

Deno.test("decodeVolumeFile: a missing file fails with Deno's NotFound", async () => {
  await withTempDir(async (dir) => {
    const format: VolumeFormat = { compression: "none", encrypt: false };
    await assert.rejects(
      chunksOf(decodeVolumeFile(join(dir, "absent"), format, [])),
      Deno.errors.NotFound,
    );
  });
});

Deno.test("decodeVolumeFile: cancelled after one batch, the worker stops", async () => {
  await withTempDir(async (dir) => {
    const format: VolumeFormat = { compression: "zstd", encrypt: true };
    const path = join(dir, "volume");
    await writeVolume(path, sample(), format);
    const reader = decodeVolumeFile(path, format, [identity]).getReader();
    const first = await reader.read();
    assert.equal(first.done, false);
    assert.equal(decodeWorkersRunning(), 1);
    await reader.cancel();
    assert.equal(decodeWorkersRunning(), 0);
  });
});

Deno.test("VolumeDecoder: started early, decodes later; closed unused, it stops", async () => {
  await withTempDir(async (dir) => {
    const format: VolumeFormat = { compression: "zstd", encrypt: true };
    const path = join(dir, "volume");
    const early = new VolumeDecoder();
    const unused = new VolumeDecoder();
    assert.equal(decodeWorkersRunning(), 2);
    const data = sample();
    await writeVolume(path, data, format);
    unused.close();
    assert.equal(decodeWorkersRunning(), 1);
    const chunks = await chunksOf(early.decode(path, format, [identity]));
    assert.equal(chunks.reduce((n, chunk) => n + chunk.length, 0), data.length);
    assert.equal(decodeWorkersRunning(), 0);
    assert.throws(() => early.decode(path, format, [identity]), /decodes one volume/);
    await assert.rejects(chunksOf(unused.decode(path, format, [identity])), /decoder was closed/);
  });
});

Deno.test("VolumeDecoder: closed while its stream waits, the read fails", async () => {
  await withTempDir(async (dir) => {
    const format: VolumeFormat = { compression: "zstd", encrypt: true };
    const path = join(dir, "volume");
    await writeVolume(path, sample(), format);
    const decoder = new VolumeDecoder();
    const reader = decoder.decode(path, format, [identity]).getReader();
    const read = reader.read();
    decoder.close();
    await assert.rejects(read, /decoder was closed/);
    assert.equal(decodeWorkersRunning(), 0);
  });
});

Deno.test(
  where(
    IN_PLACE,
    "VolumeDecoder: with the file's size and SHA-256, it decodes the file",
    async () => {
      await withTempDir(async (dir) => {
        const { format, path, data, check } = await checkedVolume(dir);
        const chunks = await chunksOf(new VolumeDecoder().decode(path, format, [identity], check));
        assert.equal(chunks.reduce((n, chunk) => n + chunk.length, 0), data.length);
        assert.equal(decodeWorkersRunning(), 0);
      });
    },
  ),
);

Deno.test(
  where(
    IN_PLACE,
    "VolumeDecoder: a file that is not the catalog's fails before its first byte",
    async () => {
      await withTempDir(async (dir) => {
        const format: VolumeFormat = { compression: "zstd", encrypt: true };
        const path = join(dir, "volume");
        await writeVolume(path, sample(), format);
        const bytes = await Deno.readFile(path);
        const key = "b/000001_x.tar.zst.age";
        const size = bytes.length;
        const sha256 = createHash("sha256").update(bytes).digest("hex");
        // A forged volume decodes fine (age with a public recipient proves no sender): only the
        // catalog's SHA-256 tells it apart, and not one byte of it may come out before that.
        const forged = join(dir, "forged");
        await writeVolume(forged, sample().reverse(), format);
        const forgedBytes = await Deno.readFile(forged);
        const cases: [string, Uint8Array, RegExp][] = [
          [
            "another volume of the same size",
            forgedBytes.subarray(0, size),
            /does not match its SHA-256/,
          ],
          [
            "one bit flipped",
            bytes.map((b, i) => i === 1000 ? b ^ 1 : b),
            /does not match its SHA-256/,
          ],
          ["a byte longer", new Uint8Array([...bytes, 0]), /is \d+ bytes, not the \d+/],
          ["a byte shorter", bytes.subarray(1), /is \d+ bytes, not the \d+/],
        ];
        for (const [what, content, message] of cases) {
          await Deno.writeFile(path, content);
          const reader = new VolumeDecoder().decode(path, format, [identity], { key, size, sha256 })
            .getReader();
          await assert.rejects(reader.read(), (error) => {
            assert.ok(error instanceof ChecksumError, `${what}: ${error}`);
            assert.match(error.message, message, what);
            assert.ok(error.message.startsWith(key), what);
            return true;
          });
          assert.equal(decodeWorkersRunning(), 0, what);
        }
        // A folder where the volume should be is refused too (not read, not hung on).
        await Deno.remove(path);
        await Deno.mkdir(path);
        await assert.rejects(
          chunksOf(new VolumeDecoder().decode(path, format, [identity], { key, size, sha256 })),
          (error) => error instanceof ChecksumError || error instanceof Deno.errors.IsADirectory,
        );
      });
    },
  ),
);

Deno.test(
  where(
    IN_PLACE,
    "VolumeDecoder.verify: names the file it hashed, the one decode opens; refuses another",
    async () => {
      await withTempDir(async (dir) => {
        const { format, path, data, bytes, check } = await checkedVolume(dir);
        const hashed = await new VolumeDecoder().verify(path, check);
        const info = await Deno.stat(path);
        assert.deepEqual(hashed, { dev: info.dev, ino: info.ino });
        let opened: unknown;
        const chunks = await chunksOf(
          new VolumeDecoder().decode(path, format, [identity], undefined, (id) => opened = id),
        );
        assert.equal(chunks.reduce((n, chunk) => n + chunk.length, 0), data.length);
        assert.deepEqual(opened, hashed);
        assert.equal(decodeWorkersRunning(), 0);

        bytes[bytes.length >> 1] ^= 1;
        await Deno.writeFile(path, bytes);
        await assert.rejects(new VolumeDecoder().verify(path, check), ChecksumError);
        await assert.rejects(
          new VolumeDecoder().verify(join(dir, "absent"), check),
          Deno.errors.NotFound,
        );
        assert.equal(decodeWorkersRunning(), 0);
      });
    },
  ),
);

Deno.test(
  where(
    IN_PLACE,
    "VolumeDecoder: a volume someone else can write is refused where it lies",
    async () => {
      // The main thread copies such volumes first; one found by the worker was put there after the
      // main thread looked, and could change between the check and the decoding.
      await withTempDir(async (dir) => {
        const { format, path, check } = await checkedVolume(dir);
        const replaced = /was replaced while it was read \(others can write it now\)/;
        for (const mode of [0o664, 0o606]) {
          await Deno.chmod(path, mode);
          await assert.rejects(new VolumeDecoder().verify(path, check), replaced);
          const reader = new VolumeDecoder().decode(path, format, [identity], check).getReader();
          await assert.rejects(reader.read(), replaced);
        }
        await Deno.chmod(path, 0o600);
        await new VolumeDecoder().verify(path, check);
        assert.equal(decodeWorkersRunning(), 0);
      });
    },
  ),
);
