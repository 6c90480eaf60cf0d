/**
 * Retry policy cases not covered by tests/storage/retry_test.ts: `putFile` is retried like every
 * other call on a plain store, and part by part on a multipart store (whose capability the
 * wrapper keeps, and a plain store does not gain), and backoff starts afresh for
 * each call and after a listing makes progress, so one bad spell does not slow later calls down.
 */
import assert from "node:assert/strict";
import { type RetryInfo, withRetry } from "../../lib/storage/retry.ts";
import { join } from "node:path";
import {
  type MultipartStorage,
  type ObjectInfo,
  type Storage,
  StorageError,
  supportsMultipart,
} from "../../lib/storage/storage.ts";

/** A store whose calls fail transiently as many times as planned for their name. */
function flakyStorage(
  plan: Record<string, number>,
  listings: (string | "fail")[][] = [],
): MultipartStorage {
  const fail = (name: string) => {
    if ((plan[name] ?? 0) > 0) {
      plan[name]--;
      throw new StorageError("transient", `${name} failed: planned`);
    }
  };
  const call = <T>(name: string, value: T) => () =>
    Promise.resolve().then(() => (fail(name), value));
  return {
    description: "flaky://bucket",
    partChecksum: () => Promise.resolve("crc32" as const),
    checkAccess: call("checkAccess", undefined),
    putObject: call("putObject", undefined),
    putFile: call("putFile", undefined),
    createMultipartUpload: call("createMultipartUpload", "upload"),
    uploadPart: call("uploadPart", { etag: '"etag"' }),
    listParts: call("listParts", { parts: [] }),
    completeMultipartUpload: call("completeMultipartUpload", undefined),
    abortMultipartUpload: call("abortMultipartUpload", undefined),
    listMultipartUploads: call("listMultipartUploads", []),
    headObject: call("headObject", undefined),
    getObject: call("getObject", new Blob([]).stream()),
    deleteObject: call("deleteObject", undefined),
    restoreObject: call("restoreObject", undefined),
    async *listObjects(): AsyncIterable<ObjectInfo> {
      for (const item of listings.shift() ?? []) {
        await Promise.resolve();
        if (item === "fail") throw new StorageError("transient", "listing failed: planned");
        yield { key: item, size: 1, storageClass: "STANDARD" };
      }
    },
  };
}

function recording() {
  const retries: RetryInfo[] = [];
  return {
    retries,
    options: {
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      random: () => 0.999,
      sleep: () => Promise.resolve(),
      onRetry: (info: RetryInfo) => retries.push(info),
    },
  };
}

Deno.test("putFile of a plain store is retried like any call, and it gains no multipart uploads", async () => {
  const { retries, options } = recording();
  const {
    createMultipartUpload: _1,
    uploadPart: _2,
    listParts: _3,
    completeMultipartUpload: _4,
    abortMultipartUpload: _5,
    listMultipartUploads: _6,
    ...plain
  } = flakyStorage({ putFile: 3 });
  const storage: Storage = withRetry(plain, options);
  assert.equal(supportsMultipart(storage), false);
  await storage.putFile("k", "/some/path", "STANDARD");
  assert.deepEqual(retries.map((r) => [r.operation, r.attempt]), [
    ["putFile", 1],
    ["putFile", 2],
    ["putFile", 3],
  ]);
});

Deno.test("putFile of a multipart store retries the failed part, not the whole file", async () => {
  const { retries, options } = recording();
  const plan = { putFile: 1, uploadPart: 2 };
  const storage = withRetry(flakyStorage(plan), options);
  assert.ok(supportsMultipart(storage));
  const folder = await Deno.makeTempDir({ prefix: "glacier-retry-gaps-" });
  try {
    const path = join(folder, "big");
    await Deno.writeFile(path, new Uint8Array(17 * 1024 * 1024));
    await storage.putFile("k", path, "STANDARD");
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
  assert.deepEqual(retries.map((r) => [r.operation, r.attempt]), [
    ["uploadPart", 1],
    ["uploadPart", 2],
  ]);
  assert.equal(plan.putFile, 1, "the inner store's own putFile is not used");
});

Deno.test("backoff starts afresh for each call after a long bad spell", async () => {
  const { retries, options } = recording();
  const plan = { uploadPart: 6 };
  const storage = withRetry(flakyStorage(plan), options);
  await storage.uploadPart("k", "u", 1, new Uint8Array(1));
  assert.equal(retries.at(-1)!.attempt, 6);
  assert.ok(retries.at(-1)!.delayMs > 3000, `${retries.at(-1)!.delayMs}`);
  retries.length = 0;
  plan.uploadPart = 1;
  await storage.uploadPart("k", "u", 2, new Uint8Array(1));
  await storage.headObject("k");
  assert.deepEqual(retries.map((r) => [r.operation, r.attempt]), [["uploadPart", 1]]);
  assert.ok(retries[0].delayMs <= 100);
});

Deno.test("a listing that keeps making progress keeps its retries at the first, short delay", async () => {
  const { retries, options } = recording();
  const storage = withRetry(
    flakyStorage({}, [["a", "fail"], ["a", "b", "fail"], ["a", "b", "c", "fail"], ["a", "b", "c"]]),
    options,
  );
  const keys: string[] = [];
  for await (const info of storage.listObjects("")) keys.push(info.key);
  assert.deepEqual(keys, ["a", "b", "c"]);
  assert.deepEqual(retries.map((r) => r.attempt), [1, 1, 1]);
});
