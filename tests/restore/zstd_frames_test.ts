/**
 * Multi-frame zstd streams (as the volume writer makes them) decompress completely once cut at
 * frame ends, however the input is chunked; malformed streams are reported.
 */
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { decompressStream } from "../../lib/archive/compress.ts";
import { alignZstdFrames, ZstdFrameError } from "../../lib/archive/zstd_frames.ts";
import { randomBytes } from "../../testing/tree.ts";
import { concatBytes } from "../../testing/bytes.ts";

/** Splits `bytes` into chunks of pseudo-random sizes from 1 to `max`. */
function chunks(bytes: Uint8Array, max: number, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let state = seed;
  for (let i = 0; i < bytes.length;) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const size = 1 + (state % max);
    out.push(bytes.slice(i, i + size));
    i += size;
  }
  return out;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part.slice());
  return concatBytes(parts);
}

/** A stream of several frames: compressible, incompressible (raw blocks), RLE, empty, skippable. */
function sampleFrames(): { frames: Uint8Array[]; plain: Uint8Array } {
  const texts = new TextEncoder().encode("a line of text that repeats\n".repeat(20_000));
  const noise = randomBytes(300_000);
  const zeros = new Uint8Array(200_000);
  const plain = concatBytes([texts, noise, zeros]);
  const skippable = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
  const frames = [
    zlib.zstdCompressSync(texts),
    zlib.zstdCompressSync(noise, {
      params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 },
    }),
    skippable,
    zlib.zstdCompressSync(zeros),
    zlib.zstdCompressSync(new Uint8Array(0)),
  ];
  return { frames, plain };
}

Deno.test("a multi-frame zstd stream decompresses fully however it is chunked", async () => {
  const { frames, plain } = sampleFrames();
  const packed = concatBytes(frames);
  const ends = new Set<number>();
  let offset = 0;
  for (const frame of frames) ends.add(offset += frame.length);
  for (const [max, seed] of [[packed.length, 1], [65_536, 2], [1000, 3], [7, 4]]) {
    const aligned = ReadableStream.from(chunks(packed, max, seed)).pipeThrough(alignZstdFrames());
    let position = 0;
    const checked = aligned.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          for (const end of ends) {
            assert.ok(!(end > position && end < position + chunk.length), "chunk spans frames");
          }
          position += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    );
    const back = await collect(checked.pipeThrough(decompressStream("zstd")));
    assert.equal(back.length, plain.length, `chunks up to ${max}`);
    assert.deepEqual(back, plain);
  }
});

Deno.test("a stream that is not zstd, or ends mid-frame, is refused", async () => {
  const garbage = ReadableStream.from([new TextEncoder().encode("not zstd at all")]);
  await assert.rejects(collect(garbage.pipeThrough(alignZstdFrames())), ZstdFrameError);
  const frame = zlib.zstdCompressSync(randomBytes(10_000));
  const cut = ReadableStream.from([frame.slice(0, frame.length - 5)]);
  await assert.rejects(collect(cut.pipeThrough(alignZstdFrames())), /middle of a frame/);
});
