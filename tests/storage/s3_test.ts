/**
 * The S3 storage against a real moto server over HTTP: the shared conformance suite, then what only
 * S3 has (archived objects and restores, bucket checks, error classification of real responses).
 */

import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { crc32 } from "node:zlib";
import { createS3Storage, parseRestore, type S3StorageOptions } from "../../lib/storage/s3.ts";
import { withRetry } from "../../lib/storage/retry.ts";
import type { MultipartStorage } from "../../lib/storage/storage.ts";
import { createBucket, type MotoServer, startMoto } from "../../testing/moto.ts";
import { multipartConformance, storageConformance } from "./conformance.ts";
import { patternBytes, randomHexId, readAll, rejectsWithKind } from "./helpers.ts";

const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const encoder = new TextEncoder();

/** A new bucket on `moto` and an S3 storage on it (small pages, so listings really page). */
async function freshBucket(
  moto: MotoServer,
  extra: Partial<S3StorageOptions> = {},
): Promise<{ storage: MultipartStorage; bucket: string }> {
  const bucket = `test-${randomHexId()}`;
  await createBucket(moto.endpoint, bucket);
  const storage = createS3Storage({
    bucket,
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials,
    pageSize: 2,
    ...extra,
  });
  return { storage, bucket };
}

/** A loopback port with nothing listening on it. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("S3 storage on moto", async (t) => {
  const moto = await startMoto();
  try {
    await t.step("conformance", async (t) => {
      await storageConformance(t, async () => (await freshBucket(moto)).storage);
    });

    await t.step("multipart conformance", async (t) => {
      await multipartConformance(t, async () => (await freshBucket(moto)).storage);
    });

    await t.step("an archived object is unreadable until restored", async () => {
      const { storage } = await freshBucket(moto);
      const body = patternBytes(4096, 5);
      await storage.putObject("cold/v1", body, "DEEP_ARCHIVE");
      const head = await storage.headObject("cold/v1");
      assert.equal(head?.storageClass, "DEEP_ARCHIVE");
      assert.equal(head?.restore, undefined);
      await rejectsWithKind(storage.getObject("cold/v1"), "archived", /"cold\/v1"/);

      await storage.restoreObject("cold/v1", 1, "Bulk");
      assert.equal((await storage.headObject("cold/v1"))?.restore, "restored");
      assert.deepEqual(await readAll(await storage.getObject("cold/v1")), body);
      await storage.restoreObject("cold/v1", 1, "Bulk");
      await rejectsWithKind(storage.restoreObject("cold/missing", 1, "Bulk"), "not-found");
    });

    await t.step("listing reports the storage class of each object", async () => {
      const { storage } = await freshBucket(moto);
      await storage.putObject("a", encoder.encode("a"), "GLACIER");
      await storage.putObject("b", encoder.encode("b"), "STANDARD");
      const listed = [];
      for await (const info of storage.listObjects("")) listed.push([info.key, info.storageClass]);
      assert.deepEqual(listed, [["a", "GLACIER"], ["b", "STANDARD"]]);
    });

    await t.step("checkAccess of a missing bucket fails for good", async () => {
      const storage = createS3Storage({
        bucket: `missing-${randomHexId()}`,
        endpoint: moto.endpoint,
        region: "us-east-1",
        credentials,
      });
      await rejectsWithKind(storage.checkAccess(), "permanent", /does not exist/);
      await rejectsWithKind(
        storage.putObject("k", encoder.encode("x"), "STANDARD"),
        "permanent",
        /NoSuchBucket/,
      );
    });

    await t.step("an invalid storage class fails for good", async () => {
      const { storage } = await freshBucket(moto);
      await rejectsWithKind(
        storage.putObject("x/000001_a.tar.zst.age", encoder.encode("x"), "BOGUS_CLASS"),
        "permanent",
        /^upload of "x\/000001_a\.tar\.zst\.age" failed: InvalidStorageClass/,
      );
    });

    await t.step("UploadPart to an unknown upload is a server error on moto", async () => {
      // moto answers 500 where S3 answers NoSuchUpload; that is why callers ask ListParts first.
      const { storage } = await freshBucket(moto);
      await rejectsWithKind(
        storage.uploadPart("k", "no-such-upload", 3, encoder.encode("x")),
        "transient",
        /^upload of part 3 of "k" failed: HTTP 500/,
      );
      await rejectsWithKind(storage.listParts("k", "no-such-upload"), "not-found", /NoSuchUpload/);
    });

    await t.step("checksums only when required still round-trips", async () => {
      const { storage } = await freshBucket(moto, { checksumWhenRequired: true });
      const body = patternBytes(70_000, 9);
      await storage.putObject("sum", body, "STANDARD");
      assert.deepEqual(await readAll(await storage.getObject("sum")), body);
    });

    await t.step("description names the bucket and the endpoint", async () => {
      const { storage, bucket } = await freshBucket(moto);
      assert.equal(storage.description, `s3://${bucket} at ${moto.endpoint}`);
      await storage.checkAccess();
    });
  } finally {
    await moto.stop();
  }
});

Deno.test("S3 storage: an unreachable endpoint is transient, and fails fast through checkAccess", async () => {
  const endpoint = `http://127.0.0.1:${closedPort()}`;
  const storage = createS3Storage({
    bucket: "some-bucket",
    endpoint,
    region: "us-east-1",
    credentials,
  });
  await rejectsWithKind(storage.checkAccess(), "transient", /ECONNREFUSED/);
  await rejectsWithKind(
    storage.putObject("k", encoder.encode("x"), "STANDARD"),
    "transient",
    /^upload of "k" failed: .*ECONNREFUSED/,
  );

  const retries: number[] = [];
  const retrying = withRetry(storage, {
    baseDelayMs: 1,
    maxDelayMs: 2,
    checkAccessAttempts: 3,
    onRetry: (info) => retries.push(info.attempt),
  });
  const error = await rejectsWithKind(retrying.checkAccess(), "permanent");
  assert.match(error.message, new RegExp(`^cannot reach s3://some-bucket at ${endpoint}: `));
  assert.deepEqual(retries, [1, 2]);
});

Deno.test("S3 storage: a server that stops answering fails as transient instead of hanging", async () => {
  // Accepts connections, reads the request, never answers.
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of server) {
      held.push(conn);
      conn.readable.pipeTo(new WritableStream()).catch(() => {});
    }
  })();
  try {
    const storage = createS3Storage({
      bucket: "some-bucket",
      endpoint: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`,
      region: "us-east-1",
      credentials,
      idleTimeoutMs: 300,
    });
    await rejectsWithKind(storage.headObject("k"), "transient", /^metadata request for "k" failed/);
  } finally {
    server.close();
    await accepting.catch(() => {});
    for (const conn of held) {
      try {
        conn.close();
      } catch {
        // already closed by the client
      }
    }
  }
});

Deno.test("S3 storage: uploadPart sends the digest it is given, a CRC32 by default, on one kept-alive connection", async () => {
  // The backup hashes each part once and hands the digest over: that digest is what the server
  // gets to check the part against (a server here records the headers). Over plain HTTP the
  // payload stays signed (its SHA-256), unlike over HTTPS. Parts reuse one kept-alive connection:
  // no `Expect: 100-continue`, which makes the SDK open a new connection for each part.
  const seen: { md5: string | null; crc32: string | null; expect: string | null }[] = [];
  const payloadHashes: (string | null)[] = [];
  const connections = new Set<string>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req, info) => {
      await req.arrayBuffer();
      connections.add(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`);
      seen.push({
        md5: req.headers.get("content-md5"),
        crc32: req.headers.get("x-amz-checksum-crc32"),
        expect: req.headers.get("expect"),
      });
      payloadHashes.push(req.headers.get("x-amz-content-sha256"));
      return new Response(null, { status: 200, headers: { ETag: '"etag"' } });
    },
  );
  try {
    const storage = createS3Storage({
      bucket: "b",
      endpoint: `http://127.0.0.1:${server.addr.port}`,
      region: "us-east-1",
      credentials,
    });
    assert.equal(await storage.partChecksum(), "crc32");
    const body = patternBytes(3 * 1024 * 1024, 4);
    const md5 = createHash("md5").update(body).digest();
    const given = new Uint8Array(16).fill(7);
    const answers = [
      await storage.uploadPart("k", "u", 1, body, { md5: given }),
      await storage.uploadPart("k", "u", 2, body, { crc32: 0x01020304 }),
      await storage.uploadPart("k", "u", 3, body),
    ];
    assert.equal(seen[0].md5, btoa(String.fromCharCode(...given)));
    assert.deepEqual(seen.slice(1).map((s) => [s.md5, s.crc32]), [
      [null, "AQIDBA=="],
      [null, Buffer.from(crc32(body).toString(16).padStart(8, "0"), "hex").toString("base64")],
    ]);
    assert.deepEqual(seen.map((s) => s.expect), [null, null, null]);
    assert.equal(connections.size, 1);
    // This server checks no checksum, so its answers carry none.
    assert.deepEqual(answers.map((a) => a.crc32), [undefined, undefined, undefined]);
    const sha256 = createHash("sha256").update(body).digest("hex");
    assert.deepEqual(payloadHashes, [sha256, sha256, sha256]);

    const strict = createS3Storage({
      bucket: "b",
      endpoint: `http://127.0.0.1:${server.addr.port}`,
      region: "us-east-1",
      credentials,
      checksumWhenRequired: true,
    });
    assert.equal(await strict.partChecksum(), "md5");
    await strict.uploadPart("k", "u", 4, body);
    assert.deepEqual([seen[3].md5, seen[3].crc32], [md5.toString("base64"), null]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("parseRestore reads x-amz-restore", () => {
  assert.equal(parseRestore(undefined), undefined);
  assert.equal(parseRestore('ongoing-request="true"'), "in-progress");
  assert.equal(
    parseRestore('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'),
    "restored",
  );
});

Deno.test("S3 storage: missing credentials give a permanent error that says what to do", async () => {
  const home = await Deno.makeTempDir();
  try {
    const moduleUrl = new URL("../../lib/storage/s3.ts", import.meta.url).href;
    const script = `
      import { createS3Storage } from ${JSON.stringify(moduleUrl)};
      const storage = createS3Storage({ bucket: "some-bucket", endpoint: "http://127.0.0.1:9" });
      try { await storage.putObject("k", new Uint8Array(1), "STANDARD"); console.log("{}"); }
      catch (e) { console.log(JSON.stringify({ kind: e.kind, message: e.message })); }
    `;
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "--config",
        fileURLToPath(new URL("../../deno.json", import.meta.url)),
        script,
      ],
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? home,
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
        // What Windows Deno needs to find its cache and the system.
        ...Object.fromEntries(
          ["SystemRoot", "USERPROFILE", "LOCALAPPDATA", "APPDATA", "TEMP", "TMP"]
            .filter((name) => Deno.env.get(name) !== undefined)
            .map((name) => [name, Deno.env.get(name)!]),
        ),
        AWS_CONFIG_FILE: `${home}/config`,
        AWS_SHARED_CREDENTIALS_FILE: `${home}/credentials`,
        AWS_EC2_METADATA_DISABLED: "true",
        NO_COLOR: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout).trim();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    const result = JSON.parse(stdout.split("\n").at(-1) ?? "{}");
    assert.equal(result.kind, "permanent");
    assert.match(result.message, /^upload of "k" failed: no usable AWS credentials/);
    assert.match(result.message, /AWS_ACCESS_KEY_ID/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
