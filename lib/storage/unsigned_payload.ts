/**
 * SigV4 without hashing the body where that hash buys nothing: over HTTPS, a volume's parts are
 * sent with `x-amz-content-sha256: UNSIGNED-PAYLOAD` instead of a SHA-256 of each part (about a
 * second of CPU per GiB). TLS protects the bytes on the way and S3 still checks each part against
 * its `Content-MD5`; over plain HTTP the payload stays signed, as AWS's own tools do.
 */

import type { S3Client } from "@aws-sdk/client-s3";

/** Installs `unsignedPayloadOverHttps` on `client`. */
export function signPayloadOnlyOverHttp(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => unsignedPayloadOverHttps(next as Handler, context) as typeof next,
    { step: "build", name: "glacierUnsignedPayloadOverHttps" },
  );
}

/** The S3 commands whose body carries a `Content-MD5` the server checks. */
const MD5_CHECKED_COMMANDS = new Set(["PutObjectCommand", "UploadPartCommand"]);

/** The header SigV4 reads the payload hash from; already set, the signer does not hash. */
const PAYLOAD_HASH_HEADER = "x-amz-content-sha256";

/** The next handler of an AWS SDK middleware, as much of it as is used here. */
type Handler = (args: { request: unknown }) => Promise<unknown>;

/**
 * An AWS SDK middleware (build step) that marks the payload of PutObject and UploadPart as
 * unsigned when the request goes over HTTPS; everything else passes unchanged.
 */
export function unsignedPayloadOverHttps(
  next: Handler,
  context: { commandName?: string },
): Handler {
  return (args) => {
    const request = args.request as { protocol?: string; headers?: Record<string, string> };
    if (
      MD5_CHECKED_COMMANDS.has(context.commandName ?? "") && request.protocol === "https:" &&
      request.headers && !(PAYLOAD_HASH_HEADER in request.headers)
    ) {
      request.headers[PAYLOAD_HASH_HEADER] = "UNSIGNED-PAYLOAD";
    }
    return next(args);
  };
}
