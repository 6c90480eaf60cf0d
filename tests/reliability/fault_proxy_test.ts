/**
 * The fault proxy against moto, through the real S3 storage: it passes traffic through intact at
 * rate 0; each fault it injects reaches the client as a transient `StorageError` (so the retry
 * policy retries it: resets, stalls, truncated answers, 500 and 503 are never taken for permanent
 * failures); the same seed replays the same faults; and the retry wrapper gets a multipart upload
 * through a 30% fault rate intact.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { createBucket, type MotoServer, startMoto } from "../../testing/moto.ts";
import {
  type FaultProxy,
  type FaultProxyOptions,
  startFaultProxy,
  totalFaults,
} from "../../testing/fault_proxy.ts";
import { randomBytes } from "../../testing/tree.ts";
import { createS3Storage } from "../../lib/storage/s3.ts";
import { withRetry } from "../../lib/storage/retry.ts";
import { type MultipartStorage, StorageError } from "../../lib/storage/storage.ts";
import { concatBytes } from "../../testing/bytes.ts";

const BUCKET = "fault-proxy-test";

/** A moto server with a bucket, a proxy in front of it, and a storage on each. */
async function withProxy(
  options: Omit<FaultProxyOptions, "target">,
  fn: (
    ctx: {
      moto: MotoServer;
      proxy: FaultProxy;
      direct: MultipartStorage;
      viaProxy: MultipartStorage;
    },
  ) => Promise<
    void
  >,
): Promise<void> {
  const moto = await startMoto();
  const proxy = startFaultProxy({ ...options, target: { hostname: "127.0.0.1", port: moto.port } });
  try {
    await createBucket(moto.endpoint, BUCKET);
    await fn({
      moto,
      proxy,
      direct: storageAt(moto.endpoint),
      viaProxy: storageAt(proxy.endpoint),
    });
  } finally {
    await proxy.close();
    await moto.stop();
  }
}

function storageAt(endpoint: string): MultipartStorage {
  return createS3Storage({
    bucket: BUCKET,
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** "ok", or the kind of StorageError a call failed with, or the name of any other error. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "ok";
  } catch (error) {
    return error instanceof StorageError ? error.kind : `not a StorageError: ${error}`;
  }
}

Deno.test("fault proxy at rate 0 passes every request through intact", async () => {
  await withProxy({ rate: 0, seed: 1 }, async ({ proxy, direct, viaProxy }) => {
    const small = randomBytes(100_000);
    await viaProxy.putObject("a/small.bin", small, "STANDARD");
    const part1 = randomBytes(5 * 1024 * 1024);
    const part2 = randomBytes(123_457);
    const uploadId = await viaProxy.createMultipartUpload("a/big.bin", "STANDARD");
    const etags = [
      (await viaProxy.uploadPart("a/big.bin", uploadId, 1, part1)).etag,
      (await viaProxy.uploadPart("a/big.bin", uploadId, 2, part2)).etag,
    ];
    assert.deepEqual((await viaProxy.listParts("a/big.bin", uploadId)).parts.map((p) => p.size), [
      part1.length,
      part2.length,
    ]);
    await viaProxy.completeMultipartUpload(
      "a/big.bin",
      uploadId,
      etags.map((etag, i) => ({ partNumber: i + 1, etag })),
    );
    assert.equal(sha256(await readAll(await viaProxy.getObject("a/small.bin"))), sha256(small));
    const joined = new Uint8Array(part1.length + part2.length);
    joined.set(part1);
    joined.set(part2, part1.length);
    assert.equal(sha256(await readAll(await direct.getObject("a/big.bin"))), sha256(joined));
    assert.equal((await viaProxy.headObject("a/big.bin"))?.size, joined.length);
    assert.equal(await viaProxy.headObject("a/none"), undefined);
    const keys = [];
    for await (const o of viaProxy.listObjects("a/")) keys.push(o.key);
    assert.deepEqual(keys, ["a/big.bin", "a/small.bin"]);
    const counts = proxy.counts();
    assert.equal(totalFaults(counts), 0);
    assert.ok(counts.requests >= 10, `${counts.requests} requests`);
  });
});

for (const kind of ["reset", "truncate", "http500", "http503"] as const) {
  Deno.test(`fault proxy: every ${kind} reaches the client as a transient failure`, async () => {
    await withProxy({ rate: 1, seed: 7, kinds: [kind] }, async ({ proxy, direct, viaProxy }) => {
      const data = randomBytes(300_000);
      await direct.putObject("k/data.bin", data, "STANDARD");
      const calls: [string, () => Promise<unknown>][] = [
        ["put", () => viaProxy.putObject("k/other.bin", randomBytes(70_000), "STANDARD")],
        ["head", () => viaProxy.headObject("k/data.bin")],
        ["get", async () => await readAll(await viaProxy.getObject("k/data.bin"))],
        ["create", () => viaProxy.createMultipartUpload("k/mp.bin", "STANDARD")],
        ["list", async () => {
          for await (const _ of viaProxy.listObjects("k/")) { /* drain */ }
        }],
      ];
      for (let round = 0; round < 4; round++) {
        for (const [name, call] of calls) {
          assert.equal(await outcome(call), "transient", `${kind} on ${name}`);
        }
      }
      const counts = proxy.counts();
      assert.equal(counts.injected[kind], counts.requests, "every request got the fault");
      assert.equal(totalFaults(counts), counts.injected[kind]);
      if (kind === "reset") {
        const details = proxy.faults().map((f) => f.detail);
        assert.ok(details.some((d) => d.startsWith("mid-request")), "some cut mid-request");
        assert.ok(details.some((d) => d.includes("answer lost")), "some lost the answer");
      }
    });
  });
}

Deno.test("fault proxy: a stalled answer is delivered late or dropped as a transient failure", async () => {
  await withProxy(
    { rate: 1, seed: 3, kinds: ["stall"], stallMs: 200 },
    async ({ proxy, direct, viaProxy }) => {
      await direct.putObject("s/data.bin", randomBytes(1000), "STANDARD");
      const outcomes = [];
      for (let i = 0; i < 12; i++) {
        outcomes.push(await outcome(() => viaProxy.headObject("s/data.bin")));
      }
      const expected = proxy.faults().map((f) =>
        f.detail.endsWith("delivered") ? "ok" : "transient"
      );
      assert.deepEqual(outcomes, expected);
      assert.ok(expected.includes("ok") && expected.includes("transient"), `${expected}`);
    },
  );
});

Deno.test("fault proxy: the same seed injects the same faults, another seed others", async () => {
  const run = async (seed: number) => {
    let faults: string[] = [];
    await withProxy({ rate: 0.4, seed, stallMs: 50 }, async ({ proxy, viaProxy }) => {
      for (let i = 0; i < 30; i++) {
        await outcome(() => viaProxy.putObject(`r/${i % 5}.bin`, randomBytes(2000), "STANDARD"));
        await outcome(() => viaProxy.headObject(`r/${i % 5}.bin`));
      }
      faults = proxy.faults().map((f) => `${f.kind} ${f.request} ${f.detail}`);
    });
    return faults;
  };
  const first = await run(42);
  assert.ok(first.length >= 5, `${first.length} faults`);
  assert.deepEqual(await run(42), first);
  assert.notDeepEqual(await run(43), first);
});

Deno.test("the retry wrapper gets a multipart upload through a 30% fault rate intact", async () => {
  await withProxy({ rate: 0.3, seed: 11, stallMs: 300 }, async ({ proxy, direct, viaProxy }) => {
    const retried: string[] = [];
    const storage = withRetry(viaProxy, {
      baseDelayMs: 20,
      maxDelayMs: 200,
      onRetry: ({ operation, error }) => {
        assert.equal(error.kind, "transient");
        retried.push(operation);
      },
    });
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(5 * 1024 * 1024), randomBytes(1000)];
    const key = "m/volume.bin";
    const uploadId = await storage.createMultipartUpload(key, "STANDARD");
    const etags = [];
    for (const [i, part] of parts.entries()) {
      etags.push((await storage.uploadPart(key, uploadId, i + 1, part)).etag);
    }
    try {
      await storage.completeMultipartUpload(
        key,
        uploadId,
        etags.map((etag, i) => ({ partNumber: i + 1, etag })),
      );
    } catch (error) {
      // An answer lost after the server completed the upload: the retry finds no upload.
      assert.ok(error instanceof StorageError && error.kind === "not-found", `${error}`);
    }
    const joined = concatBytes(parts);
    assert.equal((await storage.headObject(key))?.size, joined.length);
    assert.equal(sha256(await readAll(await direct.getObject(key))), sha256(joined));
    const counts = proxy.counts();
    assert.ok(totalFaults(counts) > 0, "faults were injected");
    assert.equal(retried.length, totalFaults(counts) - countDeliveredStalls(proxy));
  });
});

/** Stalls that delivered their answer late: faults the client never saw as failures. */
function countDeliveredStalls(proxy: FaultProxy): number {
  return proxy.faults().filter((f) => f.kind === "stall" && f.detail.endsWith("delivered")).length;
}

Deno.test("fault proxy relays keep-alive, chunked bodies, HEAD and 100-continue faithfully", async () => {
  const encoder = new TextEncoder();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const body = new Uint8Array(await request.arrayBuffer());
      if (request.method === "HEAD") {
        return new Response(null, { headers: { "content-length": "12345" } });
      }
      // A chunked answer: the digest, then a marker, in two pieces.
      return new Response(ReadableStream.from([encoder.encode(sha256(body)), encoder.encode("!")]));
    },
  );
  const proxy = startFaultProxy({
    target: { hostname: "127.0.0.1", port: server.addr.port },
    rate: 0,
    seed: 1,
  });
  try {
    for (let i = 0; i < 4; i++) {
      const body = randomBytes(100_000 + i);
      const response = await fetch(proxy.endpoint, { method: "PUT", body: body.slice() });
      assert.equal(await response.text(), `${sha256(body)}!`);
    }
    const pieces = [randomBytes(70_000), randomBytes(3)];
    const chunked = await fetch(proxy.endpoint, {
      method: "POST",
      body: ReadableStream.from(pieces),
    });
    const joined = new Uint8Array(70_003);
    joined.set(pieces[0]);
    joined.set(pieces[1], 70_000);
    assert.equal(await chunked.text(), `${sha256(joined)}!`);
    const head = await fetch(proxy.endpoint, { method: "HEAD" });
    assert.equal(head.headers.get("content-length"), "12345");
    await head.body?.cancel();
    const after = await fetch(proxy.endpoint, { method: "PUT", body: "after HEAD" });
    assert.equal(await after.text(), `${sha256(encoder.encode("after HEAD"))}!`);

    const expectBody = randomBytes(50_000);
    const continued = await new Promise<string>((resolve, reject) => {
      const request = httpRequest(proxy.endpoint, {
        method: "PUT",
        headers: { "Expect": "100-continue", "Content-Length": String(expectBody.length) },
      }, (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => text += chunk);
        response.on("end", () => resolve(text));
      });
      request.on("continue", () => request.end(expectBody));
      request.on("error", reject);
    });
    assert.equal(continued, `${sha256(expectBody)}!`);

    const counts = proxy.counts();
    assert.equal(counts.requests, 8);
    assert.ok(counts.connections < counts.requests, `${counts.connections} connections`);
    assert.equal(counts.otherErrors, 0);
  } finally {
    await proxy.close();
    await server.shutdown();
  }
});
