/**
 * Parallel compression emits several frames (gzip members); the reference tools and our own
 * decompressors must read them back as one stream.
 */
import assert from "node:assert/strict";
import {
  CompressorPool,
  parallelCompressStream,
  SEGMENT_BYTES,
  type SegmentResult,
} from "../../lib/archive/compress_pool.ts";
import { decompressStream } from "../../lib/archive/compress.ts";
import { randomBytes } from "../../testing/tree.ts";
import { needs, where } from "../../testing/platform.ts";

/** Text-like data spanning several segments, fed in uneven chunks. */
function sample(): Uint8Array {
  const text = new TextEncoder().encode("glacier keeps what you give it; ".repeat(400_000));
  const data = new Uint8Array(SEGMENT_BYTES * 3 + 12_345);
  data.set(text.subarray(0, SEGMENT_BYTES * 2));
  data.set(randomBytes(data.length - SEGMENT_BYTES * 2), SEGMENT_BYTES * 2);
  return data;
}

function chunked(data: Uint8Array, maxChunk = 3_000_000): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.length) return controller.close();
      const size = 1 + Math.floor(Math.random() * maxChunk);
      controller.enqueue(data.slice(offset, offset + size));
      offset += size;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function run(cmd: string, args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  const [output] = await Promise.all([
    child.output(),
    writer.write(input).then(() => writer.close()),
  ]);
  assert.equal(output.code, 0, `${cmd} failed`);
  return output.stdout;
}

for (const kind of ["zstd", "gzip"] as const) {
  Deno.test(
    where(
      needs(kind),
      `parallel ${kind} output is one valid stream for ${kind} -d and for us`,
      async () => {
        const pool = new CompressorPool(2);
        try {
          const data = sample();
          const packed = await collect(
            chunked(data).pipeThrough(parallelCompressStream(pool, kind)),
          );
          assert.ok(packed.length < data.length);
          const ours = await collect(chunked(packed).pipeThrough(decompressStream(kind)));
          assert.deepEqual(ours, data);
          // Writes that end inside the next frame's header once made Deno's zstd lose data.
          const tiny = await collect(chunked(packed, 13).pipeThrough(decompressStream(kind)));
          assert.deepEqual(tiny, data);
          const theirs = await run(kind, ["-d", "-c"], packed);
          assert.deepEqual(theirs, data);
        } finally {
          pool.close();
        }
      },
    ),
  );
}

Deno.test(where(needs("zstd"), "an empty input compresses to a valid empty stream", async () => {
  const pool = new CompressorPool(2);
  try {
    const empty = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    const packed = await collect(empty.pipeThrough(parallelCompressStream(pool, "zstd")));
    const back = await run("zstd", ["-d", "-c"], packed);
    assert.equal(back.length, 0);
  } finally {
    pool.close();
  }
}));

Deno.test("workers start one at a time as segments need them, never more than the pool's size", async () => {
  const pool = new CompressorPool(2);
  try {
    assert.equal(pool.running, 0, "a new pool starts no worker");
    const one = await pool.compress("zstd", new Uint8Array(1000));
    assert.equal(one.error, undefined);
    assert.equal(pool.running, 1);
    // Another segment finds the first worker free again: still one.
    await pool.compress("zstd", new Uint8Array(1000));
    assert.equal(pool.running, 1);
    const many = await Promise.all(
      Array.from({ length: 6 }, () => pool.compress("gzip", randomBytes(SEGMENT_BYTES))),
    );
    assert.ok(many.every((result) => result.error === undefined && result.output!.length > 0));
    assert.equal(pool.running, 2);
  } finally {
    pool.close();
  }
});

Deno.test("segments that come slower than a worker compresses them keep to one worker, even when its answers wait", async () => {
  const pool = new CompressorPool(2);
  try {
    const results: Promise<SegmentResult>[] = [];
    for (let i = 0; i < 4; i++) {
      results.push(pool.compress("zstd", randomBytes(SEGMENT_BYTES / 8)));
      // This thread is busy (as a backup's is with its catalog) while the worker compresses: the
      // worker is done long before the next segment, but its answer waits to be read.
      const until = performance.now() + 250;
      while (performance.now() < until) { /* busy */ }
    }
    assert.ok((await Promise.all(results)).every((result) => result.error === undefined));
    assert.equal(pool.running, 1);
  } finally {
    pool.close();
  }
});

Deno.test("a closed pool ends waiting segments with an error and starts anew on the next", async () => {
  const pool = new CompressorPool(1);
  try {
    const busy = pool.compress("zstd", randomBytes(SEGMENT_BYTES));
    const waiting = pool.compress("zstd", randomBytes(SEGMENT_BYTES));
    pool.close();
    assert.equal(pool.running, 0);
    assert.equal((await busy).error, "compression stopped");
    assert.equal((await waiting).error, "compression stopped");
    const again = await pool.compress("zstd", new TextEncoder().encode("after close"));
    assert.equal(again.error, undefined);
    assert.equal(pool.running, 1);
  } finally {
    pool.close();
  }
});
