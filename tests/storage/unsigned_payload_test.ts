/**
 * The payload of PutObject and UploadPart is left unsigned over HTTPS only (S3 still checks the
 * Content-MD5; TLS guards the bytes); over plain HTTP, and for every other command, the signer
 * hashes it as before.
 */
import assert from "node:assert/strict";
import { unsignedPayloadOverHttps } from "../../lib/storage/unsigned_payload.ts";

/** The headers a request leaves the middleware with. */
async function headersAfter(
  commandName: string,
  protocol: string,
  headers: Record<string, string> = {},
): Promise<Record<string, string>> {
  const request = { protocol, headers: { ...headers } };
  let seen: Record<string, string> | undefined;
  const handler = unsignedPayloadOverHttps((args) => {
    seen = (args.request as typeof request).headers;
    return Promise.resolve({});
  }, { commandName });
  await handler({ request });
  return seen!;
}

Deno.test("UploadPart and PutObject over HTTPS are sent with UNSIGNED-PAYLOAD", async () => {
  for (const command of ["UploadPartCommand", "PutObjectCommand"]) {
    assert.equal(
      (await headersAfter(command, "https:"))["x-amz-content-sha256"],
      "UNSIGNED-PAYLOAD",
    );
  }
});

Deno.test("over HTTP, for other commands, or with a hash already set, nothing changes", async () => {
  assert.deepEqual(await headersAfter("UploadPartCommand", "http:"), {});
  assert.deepEqual(await headersAfter("CompleteMultipartUploadCommand", "https:"), {});
  assert.deepEqual(
    await headersAfter("PutObjectCommand", "https:", { "x-amz-content-sha256": "abc" }),
    { "x-amz-content-sha256": "abc" },
  );
});
