/**
 * The storage abstraction every command talks to: an S3 bucket (`s3.ts`, with multipart uploads)
 * or a plain folder (`local.ts`), optionally wrapped in retries (`retry.ts`). Keys are `/`-separated object keys
 * relative to the bucket root; the backup's prefix is already part of them.
 */
import type { PartChecksumKind, PartDigest } from "./part_digest.ts";

/** What the store knows about one object. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** Storage class as the server reports it (`STANDARD` when the server omits it). */
  storageClass: string;
  lastModified?: Date;
  etag?: string;
  /**
   * Thaw state of an archived object, from `x-amz-restore`: `undefined` when no restore was
   * requested, `"in-progress"` while thawing, `"restored"` when a temporary copy is readable.
   */
  restore?: "in-progress" | "restored";
  /** S3 Object Lock retention date of the object, if it has one (HeadObject only). */
  retainUntil?: Date;
  /** S3 Object Lock mode of `retainUntil`: `GOVERNANCE` or `COMPLIANCE`. */
  retentionMode?: string;
}

/** One finished part of a multipart upload. */
export interface UploadedPart {
  partNumber: number;
  etag: string;
  size: number;
}

/** What the store lists of an unfinished multipart upload. */
export interface PartListing {
  parts: UploadedPart[];
  /**
   * The checksum algorithm the upload was created with (`CRC32`, ...), where the store says; S3
   * does, some S3-compatible servers (moto) do not.
   */
  checksumAlgorithm?: string;
}

/** A part as CompleteMultipartUpload names it. */
export interface CompletedPart {
  partNumber: number;
  etag: string;
  /**
   * The part's CRC32: S3 requires it of every part of an upload created for CRC32, and refuses
   * it for an upload created without a checksum algorithm.
   */
  crc32?: number;
}

/** The server's answer to one UploadPart. */
export interface UploadedPartAnswer {
  etag: string;
  /**
   * The CRC32 the server computed of the part (`x-amz-checksum-crc32`), when the part went with
   * one and the server checks such checksums; absent from servers that ignore them.
   */
  crc32?: number;
  /**
   * `x-amz-server-side-encryption` of the answer: absent or `AES256` when the ETag is the part's
   * MD5; `aws:kms` (or SSE-C) when it is not.
   */
  serverSideEncryption?: string;
}

/** An unfinished multipart upload found in the store. */
export interface PendingUpload {
  key: string;
  uploadId: string;
  initiated?: Date;
}

/** Retrieval tiers of RestoreObject. */
export type RestoreTier = "Bulk" | "Standard" | "Expedited";

/**
 * A place volumes are written to and read from: plain object operations that every store has.
 * All methods throw `StorageError` on failure. A store that also has resumable multipart uploads
 * (S3) is a `MultipartStorage`; ask `supportsMultipart`.
 */
export interface Storage {
  /** Human-readable location, e.g. `s3://bucket` or `file:///backups`; never contains secrets. */
  readonly description: string;
  /** Fails with a permanent `StorageError` if the bucket/folder is missing or unreachable for good. */
  checkAccess(): Promise<void>;
  /** Uploads a small object in one request. */
  putObject(key: string, body: Uint8Array, storageClass: string): Promise<void>;
  /**
   * Stores the local file at `path` as one object, all at once or not at all; an interrupted put
   * is simply done again. A missing local file is a `permanent` error, never retried.
   */
  putFile(key: string, path: string, storageClass: string): Promise<void>;
  /** Object metadata, or `undefined` when there is no such object. */
  headObject(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, paging as needed. */
  listObjects(prefix: string): AsyncIterable<ObjectInfo>;
  /** The object's bytes, optionally only `[start, end)`; throws kind `not-found` or `archived`. */
  getObject(
    key: string,
    range?: { start: number; end: number },
  ): Promise<ReadableStream<Uint8Array>>;
  /** Deletes an object; succeeds if it is already gone. */
  deleteObject(key: string): Promise<void>;
  /** Asks for a temporary readable copy of an archived object; an in-progress request is fine. */
  restoreObject(key: string, days: number, tier: RestoreTier): Promise<void>;
  /** True when the bucket has S3 Object Lock enabled; absent on stores without Object Lock. */
  objectLockEnabled?(): Promise<boolean>;
}

/**
 * A store with resumable multipart uploads: an upload's parts outlive the process that sent
 * them, so a large upload continues from its last finished part after an interruption.
 */
export interface MultipartStorage extends Storage {
  /**
   * Starts a multipart upload and returns its UploadId. Where `partChecksum` is `crc32`, the upload
   * is created for CRC32 (as the parts' checksums must match it), and its completion must name the
   * CRC32 of every part.
   */
  createMultipartUpload(key: string, storageClass: string): Promise<string>;
  /**
   * The digest a part goes with when `uploadPart` is handed none: a CRC32, or an MD5 where the
   * SDK is set to send checksums only when required (for servers that refuse CRC32).
   */
  partChecksum(): Promise<PartChecksumKind>;
  /**
   * Uploads one part (numbered from 1) with a digest for the server to check; returns its ETag,
   * the server's CRC32 of it, and how the server encrypted it. `digest`: the part's digest when
   * the caller has it already, so that the part is hashed once; else one of `partChecksum`.
   */
  uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    digest?: PartDigest,
  ): Promise<UploadedPartAnswer>;
  /** Lists the finished parts of an upload; throws kind `not-found` when the upload is gone. */
  listParts(key: string, uploadId: string): Promise<PartListing>;
  /** Finishes an upload from its parts, in part-number order. */
  completeMultipartUpload(key: string, uploadId: string, parts: CompletedPart[]): Promise<void>;
  /** Abandons an upload; succeeds if it is already gone. */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
  /** Unfinished multipart uploads whose keys start with `prefix`. */
  listMultipartUploads(prefix: string): Promise<PendingUpload[]>;
}

/** True when `storage` has resumable multipart uploads. */
export function supportsMultipart(storage: Storage): storage is MultipartStorage {
  return typeof (storage as Partial<MultipartStorage>).createMultipartUpload === "function";
}

/**
 * Unfinished multipart uploads under `prefix`; none on a store without multipart uploads (a
 * folder bucket), whose puts leave nothing half-done behind.
 */
export async function pendingUploads(storage: Storage, prefix: string): Promise<PendingUpload[]> {
  return supportsMultipart(storage) ? await storage.listMultipartUploads(prefix) : [];
}

/**
 * Why a storage call failed:
 * - `transient`: network errors, timeouts, 5xx, throttling; retrying may help.
 * - `permanent`: credentials, access denied, no such bucket, invalid storage class, bad request,
 *   or any other answer a retry cannot change.
 * - `unsupported`: the server does not implement this request (501 NotImplemented, 405
 *   MethodNotAllowed): an S3-compatible server's gap; permanent, and a caller may skip the step.
 * - `not-found`: the object or upload does not exist.
 * - `archived`: the object is in a Glacier class and not restored (InvalidObjectState).
 */
export type StorageErrorKind =
  | "transient"
  | "permanent"
  | "unsupported"
  | "not-found"
  | "archived";

/** The one error type storage implementations throw; `message` is a single user-facing line. */
export class StorageError extends Error {
  constructor(
    readonly kind: StorageErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StorageError";
  }
}

/**
 * The store refused a request for lack of a permission: `action` is the IAM action that was
 * refused (e.g. `s3:PutObject`), `resource` the ARN it was refused on. Always permanent.
 */
export class AccessDeniedError extends StorageError {
  constructor(
    readonly action: string,
    readonly resource: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("permanent", message, options);
    this.name = "AccessDeniedError";
  }
}

/**
 * S3 refused an Expedited retrieval because AWS has no expedited capacity at the moment
 * (`503 GlacierExpeditedRetrievalNotAvailable`): permanent, since retrying at once does not help;
 * a later run, or another tier, does.
 */
export class ExpeditedUnavailableError extends StorageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("permanent", message, options);
    this.name = "ExpeditedUnavailableError";
  }
}
