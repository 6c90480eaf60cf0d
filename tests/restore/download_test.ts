/**
 * Volume downloads: ranged, continued from a partial file, picked up mid-range after a broken
 * connection, and never accepted unless the SHA-256 matches.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ChecksumError, downloadVerified } from "../../lib/restore/download.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import { type Storage, StorageError } from "../../lib/storage/storage.ts";
import { randomBytes } from "../../testing/tree.ts";

const KEY = "backup/000001_x.tar.zst.age";

async function withObject(
  fn: (ctx: { storage: Storage; data: Uint8Array; sha256: string; dir: string }) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "glacier-download-test-" });
  try {
    const storage = createLocalStorage(join(dir, "bucket"));
    await Deno.mkdir(join(dir, "bucket"));
    const data = randomBytes(300_000);
    await storage.putObject(KEY, data, "DEEP_ARCHIVE");
    const sha256 = createHash("sha256").update(data).digest("hex");
    await fn({ storage, data, sha256, dir });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Records ranges asked for, and breaks the body of the `breakOn`-th request after 1000 bytes. */
function instrumented(inner: Storage, breakOn?: number) {
  const ranges: { start: number; end: number }[] = [];
  const storage: Storage = Object.create(inner);
  storage.getObject = async (key, range) => {
    ranges.push(range!);
    const body = await inner.getObject(key, range);
    if (ranges.length !== breakOn) return body;
    let sent = 0;
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= 1000) {
          await reader.cancel();
          controller.error(new StorageError("transient", "connection reset"));
          return;
        }
        const { done, value } = await reader.read();
        if (done) return controller.close();
        const part = value.subarray(0, 1000 - sent);
        sent += part.length;
        controller.enqueue(part);
      },
    });
  };
  return { storage, ranges };
}

Deno.test("a download is ranged and continues a partial file from its end", async () => {
  await withObject(async ({ storage, data, sha256, dir }) => {
    const path = join(dir, "volume");
    await Deno.writeFile(path, data.subarray(0, 150_000));
    const { storage: watched, ranges } = instrumented(storage);
    await downloadVerified({
      storage: watched,
      key: KEY,
      size: data.length,
      sha256,
      path,
      rangeBytes: 100_000,
    });
    assert.deepEqual(ranges, [{ start: 150_000, end: 250_000 }, { start: 250_000, end: 300_000 }]);
    assert.deepEqual(await Deno.readFile(path), data);
  });
});

Deno.test("a connection broken mid-range is picked up at the byte where it broke", async () => {
  await withObject(async ({ storage, data, sha256, dir }) => {
    const path = join(dir, "volume");
    const { storage: flaky, ranges } = instrumented(storage, 2);
    const retries: string[] = [];
    await downloadVerified({
      storage: flaky,
      key: KEY,
      size: data.length,
      sha256,
      path,
      rangeBytes: 100_000,
      onRetry: (message) => retries.push(message),
    });
    assert.deepEqual(retries, ["connection reset"]);
    assert.deepEqual(ranges.map((r) => r.start), [0, 100_000, 101_000, 201_000]);
    assert.deepEqual(await Deno.readFile(path), data);
  });
});

Deno.test("a download whose SHA-256 differs is refused and deleted", async () => {
  await withObject(async ({ storage, data, sha256, dir }) => {
    const path = join(dir, "volume");
    const wrong = data.slice(0, 1000);
    wrong[10] ^= 1;
    await Deno.writeFile(path, wrong);
    await assert.rejects(
      downloadVerified({ storage, key: KEY, size: data.length, sha256, path }),
      ChecksumError,
    );
    await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
    await downloadVerified({ storage, key: KEY, size: data.length, sha256, path });
    assert.deepEqual(await Deno.readFile(path), data);
  });
});
