/**
 * Turns whatever the AWS SDK throws into a `StorageError` whose kind tells the retry policy what
 * to do and whose message tells the user, on one line, which operation failed and why.
 */

import type { S3Client } from "@aws-sdk/client-s3";
import {
  AccessDeniedError,
  ExpeditedUnavailableError,
  StorageError,
  type StorageErrorKind,
} from "./storage.ts";

/**
 * The IAM action each S3 request glacier sends needs, and whether it applies to the bucket
 * (`arn:aws:s3:::BUCKET`) or to an object (`arn:aws:s3:::BUCKET/KEY`). The one table of
 * permissions: README "Permissions (IAM)" lists, per command, the actions of the requests that
 * command sends.
 */
export const IAM_ACTIONS: Readonly<Record<string, { action: string; on: "bucket" | "object" }>> = {
  HeadBucketCommand: { action: "s3:ListBucket", on: "bucket" },
  ListObjectsV2Command: { action: "s3:ListBucket", on: "bucket" },
  ListMultipartUploadsCommand: { action: "s3:ListBucketMultipartUploads", on: "bucket" },
  PutObjectCommand: { action: "s3:PutObject", on: "object" },
  CreateMultipartUploadCommand: { action: "s3:PutObject", on: "object" },
  UploadPartCommand: { action: "s3:PutObject", on: "object" },
  CompleteMultipartUploadCommand: { action: "s3:PutObject", on: "object" },
  ListPartsCommand: { action: "s3:ListMultipartUploadParts", on: "object" },
  AbortMultipartUploadCommand: { action: "s3:AbortMultipartUpload", on: "object" },
  HeadObjectCommand: { action: "s3:GetObject", on: "object" },
  GetObjectCommand: { action: "s3:GetObject", on: "object" },
  DeleteObjectCommand: { action: "s3:DeleteObject", on: "object" },
  RestoreObjectCommand: { action: "s3:RestoreObject", on: "object" },
  GetObjectLockConfigurationCommand: {
    action: "s3:GetBucketObjectLockConfiguration",
    on: "bucket",
  },
};

/** The request a failed SDK call made, noted on its error by `noteRequestsOnErrors`. */
export interface S3Request {
  /** SDK command name, e.g. `PutObjectCommand`. */
  command: string;
  bucket?: string;
  key?: string;
}

const REQUEST = Symbol("glacier.s3Request");

/**
 * Makes every error `client` throws carry the request that failed (command, bucket, key), so
 * that `classifyS3Error` can name the refused IAM action and resource of an access denial.
 */
export function noteRequestsOnErrors(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (typeof error === "object" && error !== null && context.commandName) {
          const input = args.input as { Bucket?: unknown; Key?: unknown };
          const request: S3Request = {
            command: context.commandName,
            bucket: stringOf(input.Bucket),
            key: stringOf(input.Key),
          };
          Object.defineProperty(error, REQUEST, { value: request, configurable: true });
        }
        throw error;
      }
    },
    { step: "initialize", name: "glacierNoteRequestOnError" },
  );
}

/** Error codes that mean "the object or upload is not there". */
const NOT_FOUND_CODES = new Set(["NoSuchKey", "NotFound", "NoSuchUpload", "NoSuchVersion"]);

/** Error codes of requests the server does not implement (S3-compatible servers' gaps). */
const UNSUPPORTED_CODES = new Set(["NotImplemented", "MethodNotAllowed"]);

/** HTTP statuses of 5xx answers that a retry cannot change. */
const UNSUPPORTED_STATUSES = new Set([501]);
const PERMANENT_SERVER_STATUSES = new Set([505]);

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
  [REQUEST]?: S3Request;
}

/** Codes of a 403 answer without a body (HEAD requests): a missing permission, most likely. */
const BODYLESS_FORBIDDEN = new Set(["Forbidden", "403", "UnknownError", "Unknown", "Error"]);

/**
 * Classifies an SDK failure. `operation` names what was attempted, e.g.
 * `upload of part 3 of "x/000001_a.tar.zst.age"`; the message reads `<operation> failed: <why>`.
 * An access denial is an `AccessDeniedError` naming the refused action; `request` says which
 * request failed when the error does not carry it (see `noteRequestsOnErrors`). A
 * `StorageError` is returned unchanged.
 */
export function classifyS3Error(
  error: unknown,
  operation: string,
  request?: S3Request,
): StorageError {
  if (error instanceof StorageError) return error;
  const shape = (typeof error === "object" && error !== null ? error : {}) as ErrorShape;
  const name = typeof shape.name === "string" ? shape.name : "Error";
  const message = oneLine(typeof shape.message === "string" ? shape.message : String(error));
  const code = stringOf(shape.Code) ?? stringOf(shape.code) ?? name;
  const status = httpStatus(shape);
  if (code === "AccessDenied" || (status === 403 && BODYLESS_FORBIDDEN.has(code))) {
    return accessDenied(shape[REQUEST] ?? request, message, operation, error);
  }
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

/**
 * The one line of a refused request: the action (the one AWS names in its message if it does,
 * e.g. a `kms:` action behind an encrypted bucket; else the table's), the resource, and the
 * policy line to add.
 */
function accessDenied(
  request: S3Request | undefined,
  message: string,
  operation: string,
  cause: unknown,
): AccessDeniedError {
  const needed = request ? IAM_ACTIONS[request.command] : undefined;
  const named = /not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9]+)/.exec(message)?.[1];
  const action = named ?? needed?.action ?? "s3:*";
  const bucket = request?.bucket ?? "BUCKET";
  const resource = needed?.on === "object" || (!needed && request?.key !== undefined)
    ? `arn:aws:s3:::${bucket}/${request?.key ?? "*"}`
    : `arn:aws:s3:::${bucket}`;
  const why = needed || named
    ? `access denied for ${action} on ${resource}: add "${action}" to the policy ` +
      `(README: Permissions (IAM))`
    : `access denied on ${resource}: check the credentials and the policy ` +
      `(README: Permissions (IAM))`;
  return new AccessDeniedError(action, resource, `${operation} failed: ${truncate(why)}`, {
    cause,
  });
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
  if (UNSUPPORTED_CODES.has(code) || (status !== undefined && UNSUPPORTED_STATUSES.has(status))) {
    return ["unsupported", `${serviceDetail} (the server does not support this request)`];
  }
  if (TRANSIENT_CODES.has(code) || NETWORK_CODES.has(code)) return ["transient", serviceDetail];
  if (status !== undefined) {
    if (PERMANENT_SERVER_STATUSES.has(status)) return ["permanent", serviceDetail];
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
