/**
 * Turns whatever the AWS SDK throws into a `StorageError` whose kind tells the retry policy what
 * to do and whose message tells the user, on one line, which operation failed and why.
 */

import { ExpeditedUnavailableError, StorageError, type StorageErrorKind } from "./storage.ts";

/** Error codes that mean "the object or upload is not there". */
const NOT_FOUND_CODES = new Set(["NoSuchKey", "NotFound", "NoSuchUpload", "NoSuchVersion"]);

/** Error codes that are worth retrying whatever their HTTP status. */
const TRANSIENT_CODES = new Set([
  "RequestTimeout",
  "RequestTimeoutException",
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "BandwidthLimitExceeded",
  "PriorRequestNotComplete",
  "InternalError",
  "ServiceUnavailable",
  "OperationAborted",
  "TimeoutError",
  // The part's bytes did not match its Content-MD5: altered on the way, so sent again.
  "BadDigest",
]);

/** Node/Deno error codes of network failures. */
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENETRESET",
  "EPROTO",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/** Friendlier explanations for common permanent failures. */
const HINTS: Record<string, string> = {
  InvalidAccessKeyId: "check the AWS access key (profile, AWS_ACCESS_KEY_ID)",
  SignatureDoesNotMatch: "check the AWS secret key (profile, AWS_SECRET_ACCESS_KEY)",
  ExpiredToken: "the session credentials have expired; refresh them",
  TokenRefreshRequired: "the session credentials have expired; refresh them",
  AccessDenied: "check the credentials and the bucket policy",
  InvalidStorageClass: "this server does not offer that storage class",
  RequestTimeTooSkewed: "the computer's clock is wrong; fix it",
  PermanentRedirect: "the bucket is in another region; set --region",
  AuthorizationHeaderMalformed: "the bucket is probably in another region; set --region",
};

const MAX_DETAIL_LENGTH = 400;

/** The parts of an SDK error this module looks at. */
interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { statusCode?: unknown };
}

/**
 * Classifies an SDK failure. `operation` names what was attempted, e.g.
 * `upload of part 3 of "x/000001_a.tar.zst.age"`; the message reads `<operation> failed: <why>`.
 * A `StorageError` is returned unchanged.
 */
export function classifyS3Error(error: unknown, operation: string): StorageError {
  if (error instanceof StorageError) return error;
  const shape = (typeof error === "object" && error !== null ? error : {}) as ErrorShape;
  const name = typeof shape.name === "string" ? shape.name : "Error";
  const message = oneLine(typeof shape.message === "string" ? shape.message : String(error));
  const code = stringOf(shape.Code) ?? stringOf(shape.code) ?? name;
  const status = httpStatus(shape);
  if (code === "GlacierExpeditedRetrievalNotAvailable") {
    return new ExpeditedUnavailableError(
      `${operation} failed: AWS has no expedited capacity now: try later, or use ` +
        `--tier expedited,standard`,
      { cause: error },
    );
  }
  const [kind, why] = explain(name, code, message, status);
  return new StorageError(kind, `${operation} failed: ${truncate(why)}`, { cause: error });
}

function explain(
  name: string,
  code: string,
  message: string,
  status: number | undefined,
): [StorageErrorKind, string] {
  if (name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
    return [
      "permanent",
      `no usable AWS credentials (${message}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ` +
      `run "aws configure", or pick a profile with --profile or AWS_PROFILE`,
    ];
  }
  if (/region is missing/i.test(message)) {
    return [
      "permanent",
      `the AWS SDK says "Region is missing", which usually means ~/.aws/config or ` +
      `~/.aws/credentials exists but cannot be read (check their permissions); ` +
      `or set --region or AWS_REGION`,
    ];
  }
  const serviceDetail = describeServiceError(code, message, status);
  if (NOT_FOUND_CODES.has(code)) return ["not-found", serviceDetail];
  if (code === "InvalidObjectState") {
    return ["archived", `${serviceDetail} (the object is archived and not restored)`];
  }
  if (TRANSIENT_CODES.has(code) || NETWORK_CODES.has(code)) return ["transient", serviceDetail];
  if (status !== undefined) {
    if (status === 408 || status === 429 || status >= 500) return ["transient", serviceDetail];
    if (status >= 300) return ["permanent", serviceDetail];
  }
  if (/socket hang up|fetch failed|network|connection|timed? ?out|aborted/i.test(message)) {
    return ["transient", serviceDetail];
  }
  if (name === "ReferenceError" || name === "SyntaxError" || name === "RangeError") {
    return ["permanent", `internal error: ${name}: ${message}`];
  }
  if (name === "TypeError") return ["permanent", `internal error: ${name}: ${message}`];
  return ["transient", serviceDetail];
}

function describeServiceError(code: string, message: string, status: number | undefined): string {
  const unhelpful = message === "" || message === "UnknownError" ||
    /deserialization error|xml parse error/i.test(message);
  const genericName = code === "Error" || code === "UnknownError" || code === "Unknown";
  let detail: string;
  if (unhelpful) {
    detail = status === undefined ? code : `HTTP ${status}${genericName ? "" : ` ${code}`}`;
  } else if (genericName || message.includes(code)) {
    detail = message;
  } else {
    detail = `${code}: ${message}`;
  }
  const hint = HINTS[code];
  return hint ? `${detail} (${hint})` : detail;
}

function httpStatus(shape: ErrorShape): number | undefined {
  const status = shape.$metadata?.httpStatusCode ?? shape.$response?.statusCode;
  return typeof status === "number" && status > 0 ? status : undefined;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function truncate(text: string): string {
  return text.length <= MAX_DETAIL_LENGTH ? text : `${text.slice(0, MAX_DETAIL_LENGTH - 3)}...`;
}
