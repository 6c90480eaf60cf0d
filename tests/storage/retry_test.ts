/**
 * The retry policy, with a fake `Storage` whose calls fail a chosen number of times with chosen
 * kinds (a unit test of the policy: the real storages are tested in their own files).
 */

import assert from "node:assert/strict";
import { backoffDelay, type RetryInfo, withRetry } from "../../lib/storage/retry.ts";
import {
  type MultipartStorage,
  type ObjectInfo,
  StorageError,
  type StorageErrorKind,
} from "../../lib/storage/storage.ts";
import { collect, rejectsWithKind } from "./helpers.ts";

/** A storage whose every call first consumes the next planned failure, if any. */
class ScriptedStorage implements MultipartStorage {
  readonly description = "fake://bucket";
  partChecksum = () => Promise.resolve("crc32" as const);
  readonly calls: string[] = [];
  /** Failures still to come, in order; an entry fails one call. */
  failures: StorageErrorKind[] = [];
  /** Keys each `listObjects` pass yields; `fail` makes the pass fail at that point. */
  listings: (string | { fail: StorageErrorKind })[][] = [];

  private step(name: string): void {
    this.calls.push(name);
    const kind = this.failures.shift();
    if (kind) throw new StorageError(kind, `${name} failed: planned ${kind} failure`);
  }

  checkAccess = () => Promise.resolve().then(() => this.step("checkAccess"));
  putObject = () => Promise.resolve().then(() => this.step("putObject"));
  putFile = () => Promise.resolve().then(() => this.step("putFile"));
  createMultipartUpload = () =>
    Promise.resolve().then(() => (this.step("createMultipartUpload"), "upload-1"));
  uploadPart = () => Promise.resolve().then(() => (this.step("uploadPart"), { etag: '"etag"' }));
  listParts = () => Promise.resolve().then(() => (this.step("listParts"), { parts: [] }));
  completeMultipartUpload = () => Promise.resolve().then(() => this.step("complete"));
  abortMultipartUpload = () => Promise.resolve().then(() => this.step("abort"));
  listMultipartUploads = () => Promise.resolve().then(() => (this.step("listUploads"), []));
  headObject = () => Promise.resolve().then(() => (this.step("headObject"), undefined));
  getObject = () =>
    Promise.resolve().then(() => (this.step("getObject"), new Blob(["body"]).stream()));
  deleteObject = () => Promise.resolve().then(() => this.step("deleteObject"));
  restoreObject = () => Promise.resolve().then(() => this.step("restoreObject"));

  async *listObjects(): AsyncIterable<ObjectInfo> {
    this.calls.push("listObjects");
    for (const item of this.listings.shift() ?? []) {
      await Promise.resolve();
      if (typeof item !== "string") throw new StorageError(item.fail, `listing: planned failure`);
      yield { key: item, size: 1, storageClass: "STANDARD" };
    }
  }
}

/** Retry options that record waits instead of sleeping. */
function recordingOptions(extra: { baseDelayMs?: number; maxDelayMs?: number } = {}) {
  const retries: RetryInfo[] = [];
  const slept: number[] = [];
  return {
    retries,
    slept,
    options: {
      baseDelayMs: 100,
      maxDelayMs: 1000,
      ...extra,
      onRetry: (info: RetryInfo) => retries.push(info),
      sleep: (ms: number) => {
        slept.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
    },
  };
}

Deno.test("transient failures are retried until the call succeeds", async () => {
  const fake = new ScriptedStorage();
  fake.failures = ["transient", "transient", "transient"];
  const { retries, slept, options } = recordingOptions();
  const storage = withRetry(fake, options);
  assert.deepEqual(await storage.uploadPart("k", "u", 1, new Uint8Array(1)), { etag: '"etag"' });
  assert.equal(fake.calls.length, 4);
  assert.deepEqual(retries.map((r) => [r.operation, r.attempt]), [
    ["uploadPart", 1],
    ["uploadPart", 2],
    ["uploadPart", 3],
  ]);
  assert.ok(retries.every((r) => r.error.kind === "transient"));
  assert.deepEqual(slept, retries.map((r) => r.delayMs));
});

Deno.test("a long run of transient failures is retried for ever with capped delays", async () => {
  const fake = new ScriptedStorage();
  fake.failures = Array(40).fill("transient");
  const { retries, options } = recordingOptions({ baseDelayMs: 100, maxDelayMs: 1000 });
  await withRetry(fake, { ...options, random: () => 0.999 }).putObject("k", new Uint8Array(), "S");
  assert.equal(fake.calls.length, 41);
  const delays = retries.map((r) => r.delayMs);
  for (let i = 1; i < delays.length; i++) assert.ok(delays[i] >= delays[i - 1], `${delays}`);
  assert.ok(delays.every((d) => d <= 1000), `${delays}`);
  assert.equal(delays.at(-1), 1000);
  assert.ok(delays[0] <= 100);
});

for (const kind of ["permanent", "not-found", "archived"] as const) {
  Deno.test(`a ${kind} failure is thrown at once`, async () => {
    const fake = new ScriptedStorage();
    fake.failures = [kind];
    const { retries, options } = recordingOptions();
    await rejectsWithKind(withRetry(fake, options).getObject("k"), kind, /planned/);
    assert.equal(fake.calls.length, 1);
    assert.deepEqual(retries, []);
  });
}

Deno.test("an error that is not a StorageError is not retried", async () => {
  const fake = new ScriptedStorage();
  fake.headObject = () => Promise.reject(new TypeError("bug"));
  const { retries, options } = recordingOptions();
  await assert.rejects(withRetry(fake, options).headObject("k"), TypeError);
  assert.deepEqual(retries, []);
});

Deno.test("checkAccess gives up after its attempts and fails as permanent", async () => {
  const fake = new ScriptedStorage();
  fake.failures = Array(10).fill("transient");
  const { retries, options } = recordingOptions();
  const storage = withRetry(fake, { ...options, checkAccessAttempts: 3 });
  const error = await rejectsWithKind(
    storage.checkAccess(),
    "permanent",
    /^cannot reach fake:\/\/bucket: checkAccess failed: planned transient failure$/,
  );
  assert.ok(error.cause instanceof StorageError);
  assert.equal(fake.calls.length, 3);
  assert.equal(retries.length, 2);

  const defaults = new ScriptedStorage();
  defaults.failures = Array(10).fill("transient");
  await rejectsWithKind(withRetry(defaults, recordingOptions().options).checkAccess(), "permanent");
  assert.equal(defaults.calls.length, 4, "four attempts by default");

  const recovering = new ScriptedStorage();
  recovering.failures = ["transient", "transient"];
  await withRetry(recovering, recordingOptions().options).checkAccess();
  assert.equal(recovering.calls.length, 3);

  const denied = new ScriptedStorage();
  denied.failures = ["permanent"];
  await rejectsWithKind(
    withRetry(denied, recordingOptions().options).checkAccess(),
    "permanent",
    /^checkAccess failed/,
  );
  assert.equal(denied.calls.length, 1);
});

Deno.test("backoffDelay doubles up to the cap with equal jitter", () => {
  const options = { baseDelayMs: 1000, maxDelayMs: 120_000 };
  for (let attempt = 1; attempt <= 40; attempt++) {
    const cap = Math.min(120_000, 1000 * 2 ** (attempt - 1));
    assert.equal(backoffDelay(attempt, options, () => 0), cap / 2);
    for (const random of [0.25, 0.5, 0.75, 0.999999]) {
      const delay = backoffDelay(attempt, options, () => random);
      assert.ok(delay >= cap / 2 && delay <= cap, `attempt ${attempt}: ${delay} vs cap ${cap}`);
    }
  }
  assert.equal(backoffDelay(1, {}, () => 0.999999), 1000, "defaults: base 1 s");
  assert.equal(backoffDelay(1000, {}, () => 0.999999), 120_000, "defaults: cap 2 min");
  assert.equal(backoffDelay(3, options, () => 0.5), 3000);
});

Deno.test("aborting stops a pending wait at once with an AbortError", async () => {
  const fake = new ScriptedStorage();
  fake.failures = ["transient", "transient"];
  const controller = new AbortController();
  const storage = withRetry(fake, {
    baseDelayMs: 3_600_000,
    signal: controller.signal,
    onRetry: () => queueMicrotask(() => controller.abort()),
  });
  // Watch the real timer of the default sleep: an hour long, it must be cleared on abort.
  const started = new Set<unknown>();
  const cleared = new Set<unknown>();
  const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = globalThis;
  globalThis.setTimeout = ((handler: () => void, ms?: number) => {
    const id = realSetTimeout(handler, ms);
    started.add(id);
    return id;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((id: Parameters<typeof clearTimeout>[0]) => {
    cleared.add(id);
    realClearTimeout(id);
  }) as typeof clearTimeout;
  try {
    await assert.rejects(
      storage.putObject("k", new Uint8Array(), "STANDARD"),
      (error: unknown) => error instanceof DOMException && error.name === "AbortError",
    );
  } finally {
    globalThis.setTimeout = realSetTimeout;
    globalThis.clearTimeout = realClearTimeout;
  }
  assert.equal(started.size, 1);
  assert.deepEqual([...cleared], [...started], "the pending timer was cancelled");
  assert.equal(fake.calls.length, 1);
  await assert.rejects(
    storage.headObject("k"),
    (error: unknown) => error instanceof DOMException && error.name === "AbortError",
  );
  assert.equal(fake.calls.length, 1, "an aborted wrapper makes no more calls");
});

Deno.test("a listing that fails resumes after the last key it yielded", async () => {
  const fake = new ScriptedStorage();
  fake.listings = [
    [{ fail: "transient" }],
    ["a", "b", { fail: "transient" }],
    ["a", "b", "c", "d"],
  ];
  const { retries, options } = recordingOptions();
  const keys = (await collect(withRetry(fake, options).listObjects("x"))).map((o) => o.key);
  assert.deepEqual(keys, ["a", "b", "c", "d"]);
  assert.equal(fake.calls.length, 3);
  assert.deepEqual(retries.map((r) => [r.operation, r.attempt]), [
    ["listObjects", 1],
    ["listObjects", 1],
  ]);
});

Deno.test("a listing that fails for good is not retried", async () => {
  const fake = new ScriptedStorage();
  fake.listings = [["a", { fail: "permanent" }], ["a", "b"]];
  const { options } = recordingOptions();
  const seen: string[] = [];
  await rejectsWithKind(
    (async () => {
      for await (const info of withRetry(fake, options).listObjects("")) seen.push(info.key);
    })(),
    "permanent",
  );
  assert.deepEqual(seen, ["a"]);
  assert.equal(fake.calls.length, 1);
});
