/**
 * Multipart uploads and their checksum algorithm, against moto over HTTP: an upload whose parts
 * carry CRC32s is created for CRC32 (so moto keeps a composite CRC32 of the parts instead of
 * copying the whole object again at completion to checksum it), and its completion names each
 * part's CRC32, as S3 requires. moto accepts any completion, so S3's rules are held by a proxy in
 * front of it (testing/s3_checksum_rules.ts), which these tests also show refusing what S3 refuses.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { createS3Storage } from "../../lib/storage/s3.ts";
import { crc32Base64 } from "../../lib/storage/part_digest.ts";
import { DEFAULT_PART_SIZE } from "../../lib/storage/part_size.ts";
import { makeMotoSandbox, type MotoSandbox, testS3Client } from "../../testing/moto_sandbox.ts";
import { startChecksumRulesProxy } from "../../testing/s3_checksum_rules.ts";
import { patternBytes, rejectsWithKind } from "./helpers.ts";

const credentials = { accessKeyId: "test", secretAccessKey: "test" };

/** A moto sandbox behind a checksum rules proxy; `fn` gets the proxy's endpoint. */
async function withRules(
  fn: (box: MotoSandbox, endpoint: string) => Promise<void>,
): Promise<void> {
  const box = await makeMotoSandbox({ prefix: "glacier-checksum-test" });
  const proxy = startChecksumRulesProxy({ target: box.moto.endpoint });
  try {
    await fn(box, proxy.endpoint);
  } finally {
    await proxy.close();
    await box.cleanup();
  }
}

/** The composite CRC32 S3 keeps of a multipart object: the CRC32 of the parts' CRC32s. */
function compositeCrc32(parts: Uint8Array[]): string {
  const joined = new Uint8Array(parts.length * 4);
  parts.forEach((part, i) => new DataView(joined.buffer).setUint32(i * 4, crc32(part)));
  return crc32Base64(crc32(joined));
}

Deno.test("a file put in parts is created for CRC32 and completed under S3's checksum rules", async () => {
  await withRules(async (box, endpoint) => {
    const storage = createS3Storage({ bucket: box.bucket, endpoint, credentials });
    const parts = [patternBytes(DEFAULT_PART_SIZE, 1), patternBytes(1000, 2)];
    const path = join(box.root, "two-parts.bin");
    await Deno.writeFile(path, new Uint8Array([...parts[0], ...parts[1]]));

    await storage.putFile("k/two-parts.bin", path, "STANDARD");

    const head = await testS3Client(box.moto.endpoint).send(
      new HeadObjectCommand({
        Bucket: box.bucket,
        Key: "k/two-parts.bin",
        ChecksumMode: "ENABLED",
      }),
    );
    // Without the algorithm named at creation, moto keeps a full-object CRC64NVME instead. (The
    // SDK drops the `-N` of the composite value.)
    assert.equal(head.ChecksumCRC32?.replace(/-\d+$/, ""), compositeCrc32(parts));
    assert.equal(head.ContentLength, DEFAULT_PART_SIZE + 1000);
  });
});

Deno.test("the rules proxy refuses the completions S3 refuses", async () => {
  await withRules(async (box, endpoint) => {
    const body = patternBytes(1000, 3);
    const crc32Storage = createS3Storage({ bucket: box.bucket, endpoint, credentials });
    const crc32Upload = await crc32Storage.createMultipartUpload("k/crc32", "STANDARD");
    const { etag } = await crc32Storage.uploadPart("k/crc32", crc32Upload, 1, body);
    await rejectsWithKind(
      crc32Storage.completeMultipartUpload("k/crc32", crc32Upload, [{ partNumber: 1, etag }]),
      "permanent",
      /must include the checksum for each part/,
    );
    await rejectsWithKind(
      crc32Storage.completeMultipartUpload("k/crc32", crc32Upload, [
        { partNumber: 1, etag, crc32: crc32(body) ^ 1 },
      ]),
      "permanent",
      /InvalidPart/,
    );
    await crc32Storage.completeMultipartUpload("k/crc32", crc32Upload, [
      { partNumber: 1, etag, crc32: crc32(body) },
    ]);

    // Checksums sent only where required (MD5 parts): the upload names no algorithm.
    const md5Storage = createS3Storage({
      bucket: box.bucket,
      endpoint,
      credentials,
      checksumWhenRequired: true,
    });
    const plainUpload = await md5Storage.createMultipartUpload("k/plain", "STANDARD");
    const plain = await md5Storage.uploadPart("k/plain", plainUpload, 1, body);
    await rejectsWithKind(
      md5Storage.completeMultipartUpload("k/plain", plainUpload, [
        { partNumber: 1, etag: plain.etag, crc32: crc32(body) },
      ]),
      "permanent",
      /InvalidPart/,
    );
    await md5Storage.completeMultipartUpload("k/plain", plainUpload, [
      { partNumber: 1, etag: plain.etag },
    ]);
    assert.equal((await md5Storage.headObject("k/plain"))?.size, 1000);
  });
});

Deno.test("listParts tells the upload's checksum algorithm where the store says it", async () => {
  await withRules(async (box, endpoint) => {
    const storage = createS3Storage({ bucket: box.bucket, endpoint, credentials });
    const uploadId = await storage.createMultipartUpload("k/listed", "STANDARD");
    await storage.uploadPart("k/listed", uploadId, 1, patternBytes(100, 4));
    const listing = await storage.listParts("k/listed", uploadId);
    assert.equal(listing.checksumAlgorithm, "CRC32");
    assert.deepEqual(listing.parts.map((part) => [part.partNumber, part.size]), [[1, 100]]);
    // moto itself does not say.
    const direct = createS3Storage({
      bucket: box.bucket,
      endpoint: box.moto.endpoint,
      credentials,
    });
    assert.equal((await direct.listParts("k/listed", uploadId)).checksumAlgorithm, undefined);
    await storage.abortMultipartUpload("k/listed", uploadId);
  });
});
