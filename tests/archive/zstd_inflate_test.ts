/**
 * `ZstdInflater`: a multi-frame zstd stream (as volumes hold) decompresses to the bytes that were
 * compressed, however its input is chunked and whatever size the output buffers are; a
 * damaged, cut or foreign stream is refused; a frame that expands enormously gives no more than
 * the room it is given at a time.
 */
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { canInflateZstd, ZstdInflater } from "../../lib/archive/zstd_inflate.ts";
import { ZstdFrameError } from "../../lib/archive/zstd_frames.ts";
import { randomBytes } from "../../testing/tree.ts";
import { concatBytes } from "../../testing/bytes.ts";

/** Splits `bytes` into views of pseudo-random sizes from 1 to `max` (views keep their offsets). */
function chunks(bytes: Uint8Array, max: number, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let state = seed;
  for (let i = 0; i < bytes.length;) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const size = 1 + (state % max);
    out.push(bytes.subarray(i, i + size));
    i += size;
  }
  return out;
}

/** Inflates `input` pushed in `pieces`, into output buffers of `room` bytes. */
function inflateAll(pieces: Uint8Array[], room: number): Uint8Array {
  const inflater = new ZstdInflater();
  const parts: Uint8Array[] = [];
  let output = new Uint8Array(room);
  let used = 0;
  try {
    for (const piece of pieces) {
      inflater.push(piece);
      while (!inflater.needsInput) {
        const written = inflater.inflate(output, used);
        assert.ok(written <= room - used, "wrote past the room given");
        used += written;
        if (used === output.length) {
          parts.push(output);
          output = new Uint8Array(room);
          used = 0;
        }
      }
    }
    inflater.finish();
  } finally {
    inflater.close();
  }
  parts.push(output.subarray(0, used));
  return concatBytes(parts);
}

/** Frames as a volume holds them: text, noise (with a checksum), a skippable frame, zeros, empty. */
function sample(): { packed: Uint8Array; plain: Uint8Array } {
  const text = new TextEncoder().encode("a line of text that repeats\n".repeat(40_000));
  const noise = randomBytes(700_000);
  const zeros = new Uint8Array(3_000_000);
  const skippable = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
  const packed = concatBytes([
    zlib.zstdCompressSync(text),
    zlib.zstdCompressSync(noise, { params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 } }),
    skippable,
    zlib.zstdCompressSync(zeros),
    zlib.zstdCompressSync(new Uint8Array(0)),
    zlib.zstdCompressSync(text),
  ]);
  return { packed, plain: concatBytes([text, noise, zeros, text]) };
}

Deno.test("ZstdInflater: the bytes compressed, however the input and output are cut", () => {
  const { packed, plain } = sample();
  // Inside a larger buffer: pieces are views at offsets, as the age decryptor's batches are.
  const framed = new Uint8Array(packed.length + 100);
  framed.set(packed, 50);
  const inside = framed.subarray(50, 50 + packed.length);
  for (
    const [max, room, seed] of [[packed.length, 1 << 20, 1], [65_536, 1000, 2], [7, 65_536, 3]]
  ) {
    const back = inflateAll(chunks(inside, max, seed), room);
    assert.equal(back.length, plain.length, `pieces up to ${max}, room ${room}`);
    assert.deepEqual(back, plain);
  }
});

Deno.test("ZstdInflater: a damaged, cut or foreign stream is refused", () => {
  const noise = randomBytes(200_000);
  const frame = new Uint8Array(
    zlib.zstdCompressSync(noise, { params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 } }),
  );
  const damaged = frame.slice();
  damaged[damaged.length - 2] ^= 0xff; // the frame's checksum
  assert.throws(() => inflateAll([damaged], 1 << 20), /Zstd decompress error/);
  assert.throws(() => inflateAll([frame.slice(0, frame.length - 5)], 1 << 20), ZstdFrameError);
  assert.throws(
    () => inflateAll([new TextEncoder().encode("not zstd at all")], 1 << 20),
    ZstdFrameError,
  );
});

Deno.test("ZstdInflater: a frame that expands a thousandfold gives only the room it is given", () => {
  const bomb = new Uint8Array(zlib.zstdCompressSync(new Uint8Array(64 << 20)));
  assert.ok(bomb.length < 64 << 10);
  const inflater = new ZstdInflater();
  try {
    inflater.push(bomb);
    const output = new Uint8Array(4096);
    let total = 0;
    for (let calls = 0; !inflater.needsInput; calls++) {
      const written = inflater.inflate(output, 0);
      assert.ok(written <= output.length);
      total += written;
      if (calls === 10) break;
    }
    assert.equal(total, 11 * 4096, "each call filled the room given, and no more");
  } finally {
    inflater.close();
  }
});

Deno.test("this runtime's node:zlib has the zstd handle the decoder drives (else it keeps to the stream)", () => {
  // Deno 2.9 has it; a runtime without it decodes volumes through the slower stream instead.
  assert.equal(canInflateZstd(), true);
});
