/**
 * `uploadVolume` driven directly: on S3 (moto, every request recorded by a proxy) an upload an
 * earlier run left half-done continues with only the parts the catalog does not record, and one
 * that run completed without recording it is finished without sending anything; on a folder
 * bucket a volume goes in one put, its own earlier copy is taken and anything else is refused.
 * Parts go up in parallel, never more at once than the shared slots, and a failed part leaves
 * the others recorded for the next try.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { Catalog, VolumeRecord } from "../../lib/catalog/catalog.ts";
import { buildVolume } from "../../lib/backup/build_volume.ts";
import { UploadCheckError, uploadVolume } from "../../lib/backup/upload_volume.ts";
import { partCount, partSizeFor } from "../../lib/storage/part_size.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import { createS3Storage } from "../../lib/storage/s3.ts";
import { type MultipartStorage, type Storage, StorageError } from "../../lib/storage/storage.ts";
import { BufferSlots } from "../../lib/memory/buffer_slots.ts";
import { makeMotoSandbox, type MotoSandbox, testStorage } from "../../testing/moto_sandbox.ts";
import { makeSandbox } from "../../testing/sandbox.ts";
import { randomBytes } from "../../testing/tree.ts";
import { type RecordingProxy, startRecordingProxy } from "../restore/helpers.ts";
import {
  type ChecksumRulesProxy,
  startChecksumRulesProxy,
} from "../../testing/s3_checksum_rules.ts";
import { plannedCatalog } from "./helpers.ts";

/** A catalog in `root` with one built volume of `size` random bytes (a plain TAR). */
async function builtVolume(
  root: string,
  src: string,
  size: number,
): Promise<{ catalog: Catalog; volume: VolumeRecord; path: string }> {
  await Deno.writeFile(join(src, "data.bin"), randomBytes(size));
  const catalog = await plannedCatalog(root, src, { workDir: join(root, "work") });
  await Deno.mkdir(join(root, "work"));
  const built = await buildVolume(catalog, catalog.settings(), catalog.volume(1), []);
  return { catalog, volume: catalog.volume(1), path: built.path };
}

async function sha256Of(storage: Storage, key: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of await storage.getObject(key)) hash.update(chunk);
  return hash.digest("hex");
}

/** Part `partNumber` of the file at `path`, as `uploadVolume` cuts it. */
async function partOf(path: string, partNumber: number, partSize: number): Promise<Uint8Array> {
  const bytes = await Deno.readFile(path);
  return bytes.subarray((partNumber - 1) * partSize, partNumber * partSize);
}

/** The S3 calls of an upload, from the proxy's record. */
function uploadCalls(proxy: RecordingProxy) {
  const parts = proxy.requests.filter((r) => r.method === "PUT" && /partNumber=/.test(r.query));
  return {
    parts: parts.map((r) => Number(/partNumber=(\d+)/.exec(r.query)![1])),
    creates:
      proxy.requests.filter((r) => r.method === "POST" && /(^|&)uploads(=|&|$)/.test(r.query))
        .length,
    completes: proxy.requests.filter((r) => r.method === "POST" && /uploadId=/.test(r.query))
      .length,
    puts: proxy.requests.filter((r) => r.method === "PUT" && r.key !== "" && r.query === "")
      .length,
  };
}

/**
 * A moto sandbox behind a recording proxy, behind a proxy that holds uploads to S3's checksum
 * rules (whose ListParts answers say the upload's algorithm unless `listAlgorithm` is false, as
 * moto's do not), and a client that goes through both.
 */
async function withProxiedMoto(
  fn: (
    box: MotoSandbox,
    proxy: RecordingProxy,
    storage: MultipartStorage,
    rules: ChecksumRulesProxy,
  ) => Promise<void>,
  options: { listAlgorithm?: boolean } = {},
) {
  const box = await makeMotoSandbox({ prefix: "glacier-upload-test" });
  const proxy = startRecordingProxy(box.moto.endpoint, box.bucket);
  const rules = startChecksumRulesProxy({ target: proxy.endpoint, ...options });
  try {
    await fn(box, proxy, testStorage(rules.endpoint, box.bucket), rules);
  } finally {
    await rules.close();
    await proxy.stop();
    await box.cleanup();
  }
}

/**
 * An earlier run's upload of `volume`: created by `storage`, parts `sent` uploaded and recorded
 * in the catalog. Returns the upload id.
 */
async function earlierUpload(
  catalog: Catalog,
  storage: MultipartStorage,
  volume: VolumeRecord,
  path: string,
  sent: number[],
): Promise<string> {
  const partSize = partSizeFor(volume.size!);
  const uploadId = await storage.createMultipartUpload(volume.objectKey, "STANDARD");
  catalog.startUpload(volume.id, uploadId, partSize);
  for (const partNumber of sent) {
    const body = await partOf(path, partNumber, partSize);
    const { etag } = await storage.uploadPart(volume.objectKey, uploadId, partNumber, body);
    catalog.recordPart(volume.id, uploadId, { partNumber, etag, size: body.length });
  }
  return uploadId;
}

Deno.test("uploadVolume on S3 continues a recorded upload, sending only the parts not recorded", async () => {
  await withProxiedMoto(async (box, proxy, storage) => {
    const { catalog, volume, path } = await builtVolume(box.root, box.src, 40 * 1024 * 1024);
    try {
      const partSize = partSizeFor(volume.size!);
      const total = partCount(volume.size!, partSize);
      assert.equal(total, 3, "test setup: three parts");
      // An earlier run started the upload, sent parts 1 and 2, and died before recording part 2.
      const uploadId = await earlierUpload(catalog, storage, volume, path, [1]);
      await storage.uploadPart(volume.objectKey, uploadId, 2, await partOf(path, 2, partSize));
      proxy.requests.length = 0;

      const resumed: [number, number][] = [];
      await uploadVolume(catalog, storage, catalog.volume(volume.id), path, {
        onResume: (finished, of) => resumed.push([finished, of]),
      });

      assert.deepEqual(resumed, [[1, 3]]);
      const calls = uploadCalls(proxy);
      // Parts go up in parallel: their requests may arrive in either order.
      assert.deepEqual(calls.parts.sort(), [2, 3], "only the parts the catalog does not record");
      assert.equal(calls.creates, 0, "the recorded upload is continued, not started again");
      assert.equal(calls.completes, 1, "completed at the first try, with every part's CRC32");
      assert.equal(catalog.volume(volume.id).state, "uploaded");
      assert.equal(await sha256Of(storage, volume.objectKey), volume.sha256);
      assert.deepEqual(await storage.listMultipartUploads(""), []);
      await assert.rejects(Deno.lstat(path), Deno.errors.NotFound, "the local copy is deleted");
    } finally {
      catalog.close();
    }
  });
});

Deno.test("uploadVolume on S3 finishes an upload completed by a run that died, sending nothing", async () => {
  await withProxiedMoto(async (box, proxy, storage) => {
    const { catalog, volume, path } = await builtVolume(box.root, box.src, 20 * 1024 * 1024);
    try {
      const partSize = partSizeFor(volume.size!);
      const uploadId = await storage.createMultipartUpload(volume.objectKey, "STANDARD");
      catalog.startUpload(volume.id, uploadId, partSize);
      const parts = [];
      for (let partNumber = 1; partNumber <= partCount(volume.size!, partSize); partNumber++) {
        const body = await partOf(path, partNumber, partSize);
        const { etag } = await storage.uploadPart(volume.objectKey, uploadId, partNumber, body);
        parts.push({ partNumber, etag, crc32: crc32(body) });
      }
      await storage.completeMultipartUpload(volume.objectKey, uploadId, parts);
      proxy.requests.length = 0;

      await uploadVolume(catalog, storage, catalog.volume(volume.id), path);

      const calls = uploadCalls(proxy);
      assert.deepEqual(calls, { parts: [], creates: 0, completes: 0, puts: 0 });
      assert.equal(catalog.volume(volume.id).state, "uploaded");
      assert.equal(await sha256Of(storage, volume.objectKey), volume.sha256);
    } finally {
      catalog.close();
    }
  });
});

Deno.test("uploadVolume to a folder bucket: one put; its own earlier copy taken, a same-size stranger refused", async () => {
  const box = await makeSandbox("glacier-upload-test-");
  const { catalog, volume, path } = await builtVolume(box.root, box.src, 300_000);
  const storage = createLocalStorage(box.bucket);
  try {
    // Another backup's object at the key, of the very same size: refused, left as it was.
    const stranger = randomBytes(volume.size!);
    await storage.putObject(volume.objectKey, stranger, "STANDARD");
    await assert.rejects(
      uploadVolume(catalog, storage, volume, path),
      (error) => error instanceof UploadCheckError && /nothing was overwritten/.test(error.message),
    );
    assert.deepEqual(await Deno.readFile(join(box.bucket, volume.objectKey)), stranger);
    assert.equal(catalog.volume(volume.id).state, "built");
    await Deno.lstat(path);

    // This volume's own copy, put by a run that died before recording it: taken as uploaded.
    await storage.putFile(volume.objectKey, path, "STANDARD");
    let reported = 0;
    await uploadVolume(catalog, storage, volume, path, { onBytes: (n) => reported = n });
    assert.equal(reported, volume.size);
    assert.equal(catalog.volume(volume.id).state, "uploaded");
    assert.equal(await sha256Of(storage, volume.objectKey), volume.sha256);
    await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
  } finally {
    catalog.close();
    await box.cleanup();
  }
});

/**
 * `storage` whose part uploads each take at least 150 ms (so that parallel ones overlap), with
 * the most part uploads in flight at once and the part numbers sent (and not refused) recorded.
 * `refuse(partNumber)` may throw instead of sending.
 */
function watchedParts(storage: MultipartStorage, refuse = (_partNumber: number) => {}) {
  const seen = { inFlight: 0, most: 0, sent: [] as number[] };
  const watched = new Proxy(storage, {
    get(target, name) {
      const value = Reflect.get(target, name);
      if (typeof value !== "function") return value;
      if (name !== "uploadPart") return value.bind(target);
      return async (key: string, uploadId: string, partNumber: number, ...rest: unknown[]) => {
        seen.inFlight++;
        seen.most = Math.max(seen.most, seen.inFlight);
        try {
          refuse(partNumber);
          await new Promise((resolve) => setTimeout(resolve, 150));
          const answer = await value.call(target, key, uploadId, partNumber, ...rest);
          seen.sent.push(partNumber);
          return answer;
        } finally {
          seen.inFlight--;
        }
      };
    },
  });
  return { storage: watched, seen };
}

Deno.test("uploadVolume on S3 sends one volume's parts in parallel, as many as the slots", async () => {
  await withProxiedMoto(async (box, _proxy, s3) => {
    const { catalog, volume, path } = await builtVolume(box.root, box.src, 40 * 1024 * 1024);
    try {
      const { storage, seen } = watchedParts(s3);
      const slots = new BufferSlots(2);
      await uploadVolume(catalog, storage, volume, path, {}, undefined, slots);
      assert.equal(seen.most, 2, "two parts in flight at once, never three");
      assert.equal(slots.mostHeld, 2);
      assert.deepEqual(seen.sent.sort(), [1, 2, 3]);
      assert.equal(catalog.volume(volume.id).state, "uploaded");
      assert.equal(await sha256Of(s3, volume.objectKey), volume.sha256);
    } finally {
      catalog.close();
    }
  });
});

Deno.test("two volumes uploading at once share the slots: parts in flight never exceed them", async () => {
  await withProxiedMoto(async (box, _proxy, s3) => {
    const MiB = 1024 * 1024;
    await Deno.writeFile(join(box.src, "a.bin"), randomBytes(20 * MiB));
    await Deno.writeFile(join(box.src, "b.bin"), randomBytes(20 * MiB));
    const catalog = await plannedCatalog(box.root, box.src, {
      workDir: join(box.root, "work"),
      volumeSize: 20 * MiB,
    });
    await Deno.mkdir(join(box.root, "work"));
    try {
      const volumes = catalog.volumes();
      assert.equal(volumes.length, 2, "test setup: two volumes");
      const paths: string[] = [];
      for (const v of volumes) {
        paths.push((await buildVolume(catalog, catalog.settings(), v, [])).path);
      }
      const { storage, seen } = watchedParts(s3);
      const slots = new BufferSlots(2);
      await Promise.all(
        volumes.map((v, i) =>
          uploadVolume(catalog, storage, catalog.volume(v.id), paths[i], {}, undefined, slots)
        ),
      );
      assert.equal(seen.most, 2, "four parts, two slots: two in flight at once");
      assert.equal(seen.sent.length, 4);
      for (const v of catalog.volumes()) {
        assert.equal(v.state, "uploaded");
        assert.equal(await sha256Of(s3, v.objectKey), v.sha256);
      }
    } finally {
      catalog.close();
    }
  });
});

Deno.test("a part that fails stops the upload; the parts that finished are kept for the next try", async () => {
  await withProxiedMoto(async (box, _proxy, s3) => {
    const { catalog, volume, path } = await builtVolume(box.root, box.src, 40 * 1024 * 1024);
    try {
      let refusals = 0;
      const first = watchedParts(s3, (partNumber) => {
        if (partNumber === 2 && refusals++ === 0) {
          throw new StorageError("permanent", "part 2 refused");
        }
      });
      await assert.rejects(
        uploadVolume(catalog, first.storage, volume, path, {}, undefined, new BufferSlots(2)),
        /part 2 refused/,
      );
      const record = catalog.volume(volume.id);
      assert.equal(record.state, "built");
      assert.deepEqual(first.seen.sent, [1], "part 1, in flight beside part 2, finished");
      assert.deepEqual(catalog.parts(volume.id, record.uploadId!).map((p) => p.partNumber), [1]);

      const second = watchedParts(s3);
      await uploadVolume(catalog, second.storage, record, path, {}, undefined, new BufferSlots(2));
      assert.deepEqual(second.seen.sent.sort(), [2, 3], "only the parts not recorded");
      assert.equal(catalog.volume(volume.id).state, "uploaded");
      assert.equal(await sha256Of(s3, volume.objectKey), volume.sha256);
    } finally {
      catalog.close();
    }
  });
});

Deno.test("an upload begun without a checksum algorithm, on a store that does not say, is completed without CRC32s", async () => {
  await withProxiedMoto(async (box, proxy, storage, rules) => {
    const { catalog, volume, path } = await builtVolume(box.root, box.src, 40 * 1024 * 1024);
    try {
      // As an older version began it: no algorithm named (here: MD5 parts, which name none).
      const older = createS3Storage({
        bucket: box.bucket,
        endpoint: rules.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        checksumWhenRequired: true,
      });
      await earlierUpload(catalog, older, volume, path, [1]);
      proxy.requests.length = 0;

      await uploadVolume(catalog, storage, catalog.volume(volume.id), path);

      // The guess (CRC32s, as this program creates uploads) is refused, the other way taken.
      assert.equal(rules.completions.refused.length, 1);
      assert.match(rules.completions.refused[0], /created without/);
      assert.equal(rules.completions.accepted, 1);
      assert.deepEqual(uploadCalls(proxy).parts.sort(), [2, 3]);
      assert.equal(catalog.volume(volume.id).state, "uploaded");
      assert.equal(await sha256Of(storage, volume.objectKey), volume.sha256);
    } finally {
      catalog.close();
    }
  }, { listAlgorithm: false });
});

Deno.test("a CRC32 upload resumed on a store that does not say its algorithm is completed at the first try", async () => {
  await withProxiedMoto(async (box, proxy, storage, rules) => {
    const { catalog, volume, path } = await builtVolume(box.root, box.src, 40 * 1024 * 1024);
    try {
      await earlierUpload(catalog, storage, volume, path, [1, 3]);
      proxy.requests.length = 0;

      await uploadVolume(catalog, storage, catalog.volume(volume.id), path);

      assert.deepEqual(rules.completions, { accepted: 1, refused: [] });
      assert.deepEqual(uploadCalls(proxy).parts, [2]);
      assert.equal(catalog.volume(volume.id).state, "uploaded");
      assert.equal(await sha256Of(storage, volume.objectKey), volume.sha256);
    } finally {
      catalog.close();
    }
  }, { listAlgorithm: false });
});
