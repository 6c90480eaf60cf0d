/**
 * The S3 storage against s3rver, a second S3 server (written for Node, run here in the test
 * process): the shared conformance suite with s3rver's gaps named, and what glacier makes of the
 * requests s3rver does not implement (they fail at once as `unsupported`, never retried).
 */

import assert from "node:assert/strict";
import { createS3Storage } from "../../lib/storage/s3.ts";
import { withRetry } from "../../lib/storage/retry.ts";
import type { MultipartStorage } from "../../lib/storage/storage.ts";
import { createBucket } from "../../testing/moto.ts";
import { S3RVER_CREDENTIALS, type S3rverServer, startS3rver } from "../../testing/s3rver.ts";
import { storageConformance } from "./conformance.ts";
import { patternBytes, randomHexId, readAll, rejectsWithKind } from "./helpers.ts";

/**
 * A new bucket on `server` and an S3 storage on it. Listings keep the default page size: s3rver's
 * continuation tokens use DES, which neither Deno's nor Node 17+'s crypto offers, so its second
 * page of a listing fails.
 */
async function freshBucket(server: S3rverServer): Promise<MultipartStorage> {
  const bucket = `test-${randomHexId()}`;
  await createBucket(server.endpoint, bucket);
  return createS3Storage({
    bucket,
    endpoint: server.endpoint,
    region: "us-east-1",
    credentials: S3RVER_CREDENTIALS,
  });
}

Deno.test("S3 storage on s3rver", async (t) => {
  const server = await startS3rver();
  try {
    await t.step("conformance", async (t) => {
      await storageConformance(t, () => freshBucket(server), {
        listsEveryClassAsStandard: true,
        noRestoreObject: true,
      });
    });

    await t.step("a multipart upload completes and reads back", async () => {
      const storage = await freshBucket(server);
      const parts = [patternBytes(5 * 1024 * 1024, 1), patternBytes(777, 2)];
      const uploadId = await storage.createMultipartUpload("v/1", "STANDARD");
      const etags = [];
      for (const [i, part] of parts.entries()) {
        etags.push((await storage.uploadPart("v/1", uploadId, i + 1, part)).etag);
      }
      await storage.completeMultipartUpload(
        "v/1",
        uploadId,
        etags.map((etag, i) => ({ partNumber: i + 1, etag })),
      );
      const body = await readAll(await storage.getObject("v/1"));
      assert.equal(body.length, parts[0].length + parts[1].length);
    });

    await t.step(
      "requests s3rver lacks fail at once as unsupported, even with retries",
      async () => {
        const retries: string[] = [];
        const storage = withRetry(await freshBucket(server), {
          onRetry: (info) => retries.push(info.operation),
        });
        await rejectsWithKind(storage.listMultipartUploads(""), "unsupported", /NotImplemented/);
        await rejectsWithKind(storage.restoreObject("any", 1, "Bulk"), "unsupported");
        const uploadId = await storage.createMultipartUpload("v/2", "STANDARD");
        await rejectsWithKind(storage.listParts("v/2", uploadId), "unsupported");
        await rejectsWithKind(storage.abortMultipartUpload("v/2", uploadId), "unsupported");
        assert.deepEqual(retries, [], "nothing was retried");
      },
    );
  } finally {
    await server.stop();
  }
});
