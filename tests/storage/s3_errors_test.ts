/**
 * Classification of SDK failures that moto cannot produce (access denied, throttling, expired
 * tokens, socket errors...). The error objects copy the shape the AWS SDK v3 throws: `name` is
 * the S3 error code, `$metadata.httpStatusCode` the status; network errors carry a Node `code`.
 */

import assert from "node:assert/strict";
import { classifyS3Error } from "../../lib/storage/s3_errors.ts";
import { AccessDeniedError, StorageError } from "../../lib/storage/storage.ts";

function serviceError(code: string, status: number, message: string): Error {
  return Object.assign(new Error(message), { name: code, $metadata: { httpStatusCode: status } });
}

function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const operation = 'upload of part 3 of "x/000001_a.tar.zst.age"';

const cases: [string, unknown, StorageError["kind"], RegExp][] = [
  [
    "AccessDenied",
    serviceError("AccessDenied", 403, "Access Denied"),
    "permanent",
    /^upload of part 3 of "x\/000001_a\.tar\.zst\.age" failed: access denied on /,
  ],
  ["NoSuchBucket", serviceError("NoSuchBucket", 404, "gone"), "permanent", /NoSuchBucket/],
  [
    "InvalidAccessKeyId",
    serviceError("InvalidAccessKeyId", 403, "bad key"),
    "permanent",
    /access key/,
  ],
  ["SignatureDoesNotMatch", serviceError("SignatureDoesNotMatch", 403, "sig"), "permanent", /sig/],
  ["ExpiredToken", serviceError("ExpiredToken", 400, "expired"), "permanent", /refresh/],
  ["InvalidStorageClass", serviceError("InvalidStorageClass", 400, "bad"), "permanent", /class/],
  ["InvalidBucketName", serviceError("InvalidBucketName", 400, "bad"), "permanent", /Invalid/],
  // A part altered on the way (its Content-MD5 did not match) is sent again.
  ["BadDigest", serviceError("BadDigest", 400, "digest mismatch"), "transient", /BadDigest/],
  // AWS out of expedited capacity: retrying at once does not help (restore --tier falls back).
  [
    "GlacierExpeditedRetrievalNotAvailable",
    serviceError("GlacierExpeditedRetrievalNotAvailable", 503, "not available"),
    "permanent",
    /AWS has no expedited capacity now: try later, or use --tier expedited,standard/,
  ],
  ["MalformedXML", serviceError("MalformedXML", 400, "bad xml"), "permanent", /MalformedXML/],
  ["InvalidArgument", serviceError("InvalidArgument", 400, "bad"), "permanent", /InvalidArg/],
  ["other 4xx", serviceError("Teapot", 418, "short and stout"), "permanent", /Teapot/],
  ["RequestTimeTooSkewed", serviceError("RequestTimeTooSkewed", 403, "skew"), "permanent", /clock/],
  ["RequestTimeout", serviceError("RequestTimeout", 400, "idle"), "transient", /RequestTimeout/],
  ["408", serviceError("ClientTimeout", 408, "too slow"), "transient", /too slow/],
  ["429", serviceError("TooManyRequests", 429, "slow down"), "transient", /slow down/],
  ["SlowDown", serviceError("SlowDown", 503, "Please reduce"), "transient", /SlowDown/],
  ["Throttling", serviceError("Throttling", 400, "Rate exceeded"), "transient", /Rate/],
  ["InternalError", serviceError("InternalError", 500, "oops"), "transient", /InternalError/],
  [
    "501 NotImplemented (s3rver's ListMultipartUploads)",
    serviceError("NotImplemented", 501, "A parameter you provided implies functionality"),
    "unsupported",
    /NotImplemented.*does not support/,
  ],
  ["501 without a code", serviceError("UnknownError", 501, ""), "unsupported", /HTTP 501/],
  ["405 MethodNotAllowed", serviceError("MethodNotAllowed", 405, "no"), "unsupported", /support/],
  ["505", serviceError("HttpVersionNotSupported", 505, "old"), "permanent", /old/],
  [
    "5xx without a readable body",
    serviceError("Error", 502, "Deserialization error: to see the raw response..."),
    "transient",
    /failed: HTTP 502$/,
  ],
  ["NoSuchKey", serviceError("NoSuchKey", 404, "no key"), "not-found", /NoSuchKey/],
  ["NotFound on HEAD", serviceError("NotFound", 404, "UnknownError"), "not-found", /HTTP 404/],
  ["NoSuchUpload", serviceError("NoSuchUpload", 404, "no upload"), "not-found", /NoSuchUpload/],
  [
    "InvalidObjectState",
    serviceError("InvalidObjectState", 403, "archived"),
    "archived",
    /InvalidObjectState/,
  ],
  ["ECONNRESET", networkError("ECONNRESET", "read ECONNRESET"), "transient", /ECONNRESET/],
  ["ECONNREFUSED", networkError("ECONNREFUSED", "connect ECONNREFUSED"), "transient", /REFUSED/],
  ["ETIMEDOUT", networkError("ETIMEDOUT", "connect ETIMEDOUT"), "transient", /ETIMEDOUT/],
  ["EPIPE", networkError("EPIPE", "write EPIPE"), "transient", /EPIPE/],
  ["socket hang up", new Error("socket hang up"), "transient", /socket hang up/],
  [
    "TimeoutError",
    Object.assign(new Error("request timed out"), { name: "TimeoutError" }),
    "transient",
    /timed out/,
  ],
  ["fetch failure", new TypeError("fetch failed"), "transient", /fetch failed/],
  ["unknown without status", new Error("something odd"), "transient", /something odd/],
  ["programming error", new TypeError("x is not a function"), "permanent", /internal error/],
  [
    "no credentials",
    Object.assign(new Error("Could not load credentials from any providers"), {
      name: "CredentialsProviderError",
    }),
    "permanent",
    /no usable AWS credentials.*AWS_ACCESS_KEY_ID.*aws configure.*--profile/,
  ],
  [
    "unreadable ~/.aws",
    new Error("Region is missing"),
    "permanent",
    /Region is missing.*cannot be read.*permissions/,
  ],
];

for (const [label, error, kind, pattern] of cases) {
  Deno.test(`classifyS3Error: ${label} -> ${kind}`, () => {
    const classified = classifyS3Error(error, operation);
    assert.ok(classified instanceof StorageError);
    assert.equal(classified.kind, kind, classified.message);
    assert.match(classified.message, pattern);
    assert.ok(classified.message.startsWith(`${operation} failed: `), classified.message);
    assert.ok(!classified.message.includes("\n"));
    assert.equal(classified.cause, error);
  });
}

Deno.test("classifyS3Error keeps messages on one short line and passes StorageErrors through", () => {
  const long = serviceError("InternalError", 500, `line one\nline two ${"x".repeat(2000)}`);
  const classified = classifyS3Error(long, 'download of "k"');
  assert.ok(!classified.message.includes("\n"));
  assert.ok(classified.message.length < 500);
  const already = new StorageError("archived", "already classified");
  assert.equal(classifyS3Error(already, "anything"), already);
});

Deno.test("an access denial names the refused action, its resource and the policy line to add", () => {
  const rows: [string, { command: string; bucket: string; key?: string }, Error, RegExp][] = [
    [
      "UploadPart",
      { command: "UploadPartCommand", bucket: "b", key: "id/000001_a.tar.zst.age" },
      serviceError("AccessDenied", 403, "Access Denied"),
      /failed: access denied for s3:PutObject on arn:aws:s3:::b\/id\/000001_a\.tar\.zst\.age: add "s3:PutObject" to the policy \(README: Permissions \(IAM\)\)$/,
    ],
    [
      "HeadObject without a body",
      { command: "HeadObjectCommand", bucket: "b", key: "k" },
      serviceError("Forbidden", 403, "UnknownError"),
      /access denied for s3:GetObject on arn:aws:s3:::b\/k: add "s3:GetObject"/,
    ],
    [
      "ListMultipartUploads",
      { command: "ListMultipartUploadsCommand", bucket: "b" },
      serviceError("AccessDenied", 403, "Access Denied"),
      /access denied for s3:ListBucketMultipartUploads on arn:aws:s3:::b: add/,
    ],
    [
      "a KMS action named by AWS",
      { command: "PutObjectCommand", bucket: "b", key: "k" },
      serviceError(
        "AccessDenied",
        403,
        "User: arn:aws:iam::1:user/u is not authorized to perform: kms:GenerateDataKey on " +
          "resource: arn:aws:kms:us-east-1:1:key/x because no identity-based policy allows it",
      ),
      /access denied for kms:GenerateDataKey on arn:aws:s3:::b\/k: add "kms:GenerateDataKey"/,
    ],
  ];
  for (const [label, request, error, pattern] of rows) {
    const classified = classifyS3Error(error, "some operation", request);
    assert.ok(classified instanceof AccessDeniedError, label);
    assert.equal(classified.kind, "permanent", label);
    assert.match(classified.message, pattern, label);
  }
});

Deno.test("a 403 that is not a missing permission keeps its own explanation", () => {
  const request = { command: "PutObjectCommand", bucket: "b", key: "k" };
  for (const code of ["InvalidAccessKeyId", "SignatureDoesNotMatch", "RequestTimeTooSkewed"]) {
    const classified = classifyS3Error(serviceError(code, 403, "x"), "op", request);
    assert.ok(!(classified instanceof AccessDeniedError), code);
    assert.doesNotMatch(classified.message, /access denied/, code);
  }
});
