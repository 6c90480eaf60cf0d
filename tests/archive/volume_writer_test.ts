/**
 * Volume writers, on this thread and on the writer thread: the file they leave is the input
 * (encrypted when given recipients, and then what the reference `age` decrypts back), with the
 * size and SHA-256 they report; failures come back as the errors they are, with the file closed,
 * and the thread writes the next volume after them.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { compressTar, decodeVolume } from "../../lib/archive/volume_format.ts";
import {
  pipeToSink,
  type VolumeWriter,
  VolumeWriterThread,
  writeOnThisThread,
} from "../../lib/archive/volume_writer.ts";
import { VolumeFileOutput } from "../../lib/archive/volume_file.ts";
import { AgeError, generateIdentity, recipientFromIdentity } from "../../lib/crypto/age.ts";
import {
  randomlyChunked,
  readAll,
  runOk,
  testBytes,
  withTempDir,
} from "../crypto/age_test_helpers.ts";
import { needs, needsSymlinks, where } from "../../testing/platform.ts";

const identity = generateIdentity();
const recipients = [recipientFromIdentity(identity)];

/** 3 MB of random bytes. */
const data = testBytes(3_000_000, 5);

/** `data` in chunks of its own buffers (as a compression pool's frames are). */
function ownChunks(): ReadableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += 200_000) chunks.push(data.slice(at, at + 200_000));
  return ReadableStream.from(chunks);
}

/** Checks the file at `path` against what `write` reported. */
async function checkReported(path: string, reported: { size: number; sha256: string }) {
  const bytes = await Deno.readFile(path);
  assert.equal(reported.size, bytes.length);
  assert.equal(reported.sha256, createHash("sha256").update(bytes).digest("hex"));
  return bytes;
}

/** Checks that `writer` writes all of `data` to a new file at `path` (after a failure, say). */
async function assertWritesWhole(writer: VolumeWriter, path: string) {
  const reported = await writer.write(ownChunks(), path, { ownChunks: true });
  assert.deepEqual(await checkReported(path, reported), data);
}

/** Runs `body` with each writer: this thread's, and a writer thread's (closed after). */
function eachWriter(body: (writer: VolumeWriter) => Promise<void>): () => Promise<void> {
  return async () => {
    await body(writeOnThisThread);
    const thread = new VolumeWriterThread();
    try {
      await body(thread);
    } finally {
      thread.close();
    }
  };
}

Deno.test(
  where(
    needs("age"),
    "volume writers: an encrypted volume file is what age -d decrypts back to the input",
    eachWriter(async (writer) => {
      await withTempDir(async (dir) => {
        const keyFile = join(dir, "key.txt");
        await Deno.writeTextFile(keyFile, `${identity}\n`);
        for (const own of [true, false]) {
          const path = join(dir, `volume-${own}.age`);
          const input = own ? ownChunks() : randomlyChunked(data, 3);
          const reported = await writer.write(input, path, { recipients, ownChunks: own });
          const bytes = await checkReported(path, reported);
          assert.deepEqual(await runOk("age", ["-d", "-i", keyFile], bytes), data);
        }
      });
    }),
  ),
);

Deno.test(
  "volume writers: without recipients the file holds the bytes as given, and progress is told per chunk",
  eachWriter(async (writer) => {
    await withTempDir(async (dir) => {
      const path = join(dir, "volume.tar");
      let calls = 0;
      const reported = await writer.write(ownChunks(), path, {
        ownChunks: true,
        onWritten: () => calls++,
      });
      assert.deepEqual(await checkReported(path, reported), data);
      assert.equal(calls, Math.ceil(data.length / 200_000));
    });
  }),
);

Deno.test(
  "volume writers: a zlib stream (compression without a pool) is written intact",
  eachWriter(async (writer) => {
    await withTempDir(async (dir) => {
      const path = join(dir, "volume.tar.zst");
      // Compressible: zlib fills several whole output buffers.
      const repeated = new Uint8Array(700_000);
      for (let at = 0; at < repeated.length; at += 60_000) {
        repeated.set(data.subarray(0, Math.min(60_000, repeated.length - at)), at);
      }
      const input = ReadableStream.from([repeated.slice(0, 300_000), repeated.slice(300_000)]);
      const compressed = compressTar(input, "zstd");
      const reported = await writer.write(compressed, path);
      const bytes = await checkReported(path, reported);
      const back = await readAll(
        decodeVolume(ReadableStream.from([bytes]), { compression: "zstd", encrypt: false }, []),
      );
      assert.deepEqual(back, repeated);
    });
  }),
);

Deno.test(
  "volume writers: chunks not marked own are copied, their buffer left to the producer until it moves on",
  eachWriter(async (writer) => {
    await withTempDir(async (dir) => {
      // A producer that writes its next bytes into the buffer it handed out whole (as Node's
      // zlib may), before moving on to a buffer of its own.
      const buffer = new Uint8Array(65_536).fill(1);
      let pulls = 0;
      const producer = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulls++;
          if (pulls === 1) return controller.enqueue(buffer);
          if (buffer.buffer.detached) return controller.error(new Error("buffer taken over"));
          if (pulls === 2) return controller.enqueue(new Uint8Array(10).fill(2));
          controller.close();
        },
      });
      const path = join(dir, "volume");
      const reported = await writer.write(producer, path);
      const bytes = await checkReported(path, reported);
      assert.equal(bytes.length, 65_546);
      assert.deepEqual(bytes.subarray(65_536), new Uint8Array(10).fill(2));
    });
  }),
);

Deno.test(
  "volume writers: a missing folder fails with NotFound, a bad recipient with AgeError, and the next write works",
  eachWriter(async (writer) => {
    await withTempDir(async (dir) => {
      await assert.rejects(
        writer.write(ownChunks(), join(dir, "no-such-folder", "volume"), { ownChunks: true }),
        Deno.errors.NotFound,
      );
      await assert.rejects(
        writer.write(ownChunks(), join(dir, "bad-recipient"), { recipients: ["age1bogus"] }),
        AgeError,
      );
      const path = join(dir, "volume");
      await assertWritesWhole(writer, path);
    });
  }),
);

Deno.test(
  "volume writers: a stream that fails mid-way fails the write with its error, the file closed and removable",
  eachWriter(async (writer) => {
    await withTempDir(async (dir) => {
      const path = join(dir, "volume");
      let sent = 0;
      const failing = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (++sent > 6) return controller.error(new Error("source read failed"));
          controller.enqueue(data.slice(0, 100_000));
        },
      });
      await assert.rejects(writer.write(failing, path, { recipients }), /source read failed/);
      // Removable at once: the writer closed it before failing (Windows refuses to remove an
      // open file).
      await Deno.remove(path);
      await assertWritesWhole(writer, path);
    });
  }),
);

Deno.test("volume writer thread: a write asked while another runs is written too, on this thread", async () => {
  const thread = new VolumeWriterThread();
  try {
    await withTempDir(async (dir) => {
      const paths = [join(dir, "one"), join(dir, "two")];
      const results = await Promise.all(
        paths.map((path) => thread.write(ownChunks(), path, { ownChunks: true })),
      );
      for (const [i, path] of paths.entries()) {
        assert.deepEqual(await checkReported(path, results[i]), data);
      }
    });
  } finally {
    thread.close();
  }
});

Deno.test("pipeToSink fails with the sink's error, not with a failed cancel of the source after it", async () => {
  const source = () =>
    new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new Uint8Array(10)),
      cancel: () => Promise.reject(new Error("cancel failed")),
    });
  const sink = {
    write: () => Promise.reject(new Error("No space left on device")),
  };
  // What a plain pipe reports: the cancel's error, which says nothing of the disk.
  await assert.rejects(source().pipeTo(new WritableStream(sink)), /cancel failed/);
  await assert.rejects(pipeToSink(source(), sink), /No space left on device/);
});

Deno.test(
  "volume writers: a name already at the path (a planted file) is refused and left as it is",
  eachWriter(async (writer) => {
    await withTempDir(async (dir) => {
      const path = join(dir, "volume.partial");
      await Deno.writeTextFile(path, "someone else's");
      await assert.rejects(
        writer.write(ownChunks(), path, { ownChunks: true }),
        Deno.errors.AlreadyExists,
      );
      assert.equal(await Deno.readTextFile(path), "someone else's");
    });
  }),
);

Deno.test(
  where(
    needsSymlinks(),
    "volume writers: a link planted at the path is not written through",
    eachWriter(async (writer) => {
      await withTempDir(async (dir) => {
        const victim = join(dir, "victim");
        await Deno.writeTextFile(victim, "keep me");
        const path = join(dir, "volume.partial");
        await Deno.symlink(victim, path);
        await assert.rejects(
          writer.write(ownChunks(), path, { recipients }),
          Deno.errors.AlreadyExists,
        );
        assert.equal(await Deno.readTextFile(victim), "keep me");
      });
    }),
  ),
);

Deno.test(
  "volume writers: a file that cannot be opened cancels the stream, so its producer stops",
  eachWriter(async (writer) => {
    await withTempDir(async (dir) => {
      let cancelled: unknown;
      const stream = new ReadableStream<Uint8Array>({
        pull: (controller) => controller.enqueue(new Uint8Array(10)),
        cancel: (reason) => {
          cancelled = reason;
        },
      });
      await assert.rejects(
        writer.write(stream, join(dir, "missing", "volume")),
        Deno.errors.NotFound,
      );
      assert.ok(cancelled instanceof Deno.errors.NotFound, `cancelled with ${cancelled}`);
    });
  }),
);

Deno.test("a volume file output made without its hash writes the same bytes and reports none", async () => {
  await withTempDir(async (dir) => {
    const written: Uint8Array[] = [];
    for (const hashed of [true, false]) {
      const path = join(dir, `out-${hashed}`);
      const output = await VolumeFileOutput.create(path, { hashed });
      for (let at = 0; at < data.length; at += 200_000) {
        await output.write(data.slice(at, at + 200_000));
      }
      const reported = await output.close();
      const bytes = await Deno.readFile(path);
      assert.equal(reported.size, data.length);
      assert.equal(reported.sha256, hashed ? createHash("sha256").update(data).digest("hex") : "");
      written.push(bytes);
    }
    assert.deepEqual(written[0], data);
    assert.deepEqual(written[1], data);
  });
});
