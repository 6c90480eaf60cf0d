/**
 * `MultipartStorage` on an S3 bucket (AWS or an S3-compatible server such as MinIO or moto),
 * through the AWS SDK v3. The SDK's own retries are off (`maxAttempts: 1`): `retry.ts` decides what to retry.
 */

// Deferred: the SDK is evaluated when an S3 bucket is first used, not by every run, many of which
// (a `file:` bucket, `--help`) never touch it (glacier --version: 74.7 -> 64.7 MB, 0.15 -> 0.10 s).
import defer * as sdk from "@aws-sdk/client-s3";
import type { S3Client, S3ClientConfig, StorageClass } from "@aws-sdk/client-s3";
import {
  crc32Base64,
  md5Base64,
  md5Of,
  parseCrc32Base64,
  type PartChecksumKind,
  type PartDigest,
  partDigest,
} from "./part_digest.ts";
import { resolveEndpoint, resolveProfile, resolveRegion } from "./aws_config.ts";
import { classifyS3Error, noteRequestsOnErrors } from "./s3_errors.ts";
import { putFileInParts } from "./multipart.ts";
import { signPayloadOnlyOverHttp } from "./unsigned_payload.ts";
import {
  type CompletedPart,
  type MultipartStorage,
  type ObjectInfo,
  type PartListing,
  type PendingUpload,
  type RestoreTier,
  StorageError,
  type UploadedPart,
  type UploadedPartAnswer,
} from "./storage.ts";

/** Settings of an S3 storage; unset ones come from the AWS environment and config files. */
export interface S3StorageOptions {
  bucket: string;
  region?: string;
  /** Custom endpoint URL (S3-compatible servers); implies path-style addressing. */
  endpoint?: string;
  profile?: string;
  /** Send and check checksums only where S3 requires them (for servers that reject CRC32). */
  checksumWhenRequired?: boolean;
  /** Explicit credentials instead of the SDK's default chain (env, profile, SSO, IMDS, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Items per listing request (ListObjectsV2 MaxKeys, ListParts MaxParts); server default if unset. */
  pageSize?: number;
  /** How long a connection attempt may take (default 30 s). */
  connectionTimeoutMs?: number;
  /** How long a connection may sit idle mid-request before it fails (default 5 min). */
  idleTimeoutMs?: number;
  /** Server-side encryption to ask for on every object written (default: the bucket's own). */
  encryption?: ServerSideEncryptionRequest;
  /** Object Lock retention to put on every object written (the bucket must have Object Lock). */
  objectLock?: ObjectLockRequest;
}

/** Object Lock retention of each object written: `mode` until `days` days after its upload. */
export interface ObjectLockRequest {
  mode: "GOVERNANCE" | "COMPLIANCE";
  days: number;
}

/** SSE-KMS for each object written, with a given KMS key (or the account's `aws/s3` key). */
export interface ServerSideEncryptionRequest {
  kind: "kms";
  kmsKeyId?: string;
}

const DAY_MS = 86_400_000;

/** A stalled connection attempt fails after this long. */
const CONNECTION_TIMEOUT_MS = 30_000;
/** A connection on which nothing moves for this long fails (not a limit on a whole transfer). */
const SOCKET_IDLE_TIMEOUT_MS = 300_000;

/** Creates a storage on an S3 bucket. Settings are checked on first use, not here. */
export function createS3Storage(options: S3StorageOptions): MultipartStorage {
  const endpoint = resolveEndpoint(options.endpoint, Deno.env);
  const profile = resolveProfile(options.profile, Deno.env);
  let region: Promise<string> | undefined;
  const config: S3ClientConfig = {
    region: () =>
      region ??= Promise.resolve().then(() => resolveRegion(options.region, profile, Deno.env)),
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? CONNECTION_TIMEOUT_MS,
      socketTimeout: options.idleTimeoutMs ?? SOCKET_IDLE_TIMEOUT_MS,
    },
    followRegionRedirects: true,
    // With `Expect: 100-continue` (the SDK's default for bodies of 2 MiB and more) the SDK sends
    // each part on a new connection that it closes after: a TCP (and TLS) handshake and a slow
    // start for every 16 MiB part. Without it, parts reuse kept-alive connections.
    expectContinueHeader: false,
  };
  if (endpoint !== undefined) {
    config.endpoint = endpoint;
    config.forcePathStyle = true;
  }
  if (profile !== undefined) config.profile = profile;
  if (options.credentials) config.credentials = options.credentials;
  if (options.checksumWhenRequired) {
    config.requestChecksumCalculation = "WHEN_REQUIRED";
    config.responseChecksumValidation = "WHEN_REQUIRED";
  }
  const description = `s3://${options.bucket}` +
    (endpoint === undefined ? "" : ` at ${withoutUserInfo(endpoint)}`);
  const client = new sdk.S3Client(config);
  noteRequestsOnErrors(client);
  signPayloadOnlyOverHttp(client);
  return new S3Storage(
    client,
    options.bucket,
    description,
    options.pageSize,
    options.encryption,
    options.objectLock,
  );
}

/** The listing prefix of the access check: a name no backup uses. */
const ACCESS_CHECK_PREFIX = ".glacier-access-check/";

class S3Storage implements MultipartStorage {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    readonly description: string,
    private readonly pageSize: number | undefined,
    private readonly encryption: ServerSideEncryptionRequest | undefined,
    private readonly objectLock: ObjectLockRequest | undefined,
  ) {}

  // Not a `#` field: tests watch this class through a Proxy, which private fields refuse.
  private partChecksumKind?: Promise<PartChecksumKind>;

  /** MD5 where the SDK sends checksums only when required (option, environment or profile). */
  partChecksum(): Promise<PartChecksumKind> {
    return this.partChecksumKind ??= this.client.config.requestChecksumCalculation()
      .then((when) => when === "WHEN_REQUIRED" ? "md5" : "crc32");
  }

  /**
   * The retention parameters of PutObject and CreateMultipartUpload: the date is counted from
   * now, each time an object is written (a resumed backup locks its new objects as long).
   */
  private get retentionParameters() {
    if (!this.objectLock) return {};
    return {
      ObjectLockMode: this.objectLock.mode,
      ObjectLockRetainUntilDate: new Date(Date.now() + this.objectLock.days * DAY_MS),
    };
  }

  /**
   * True when the bucket has Object Lock enabled (GetObjectLockConfiguration answers
   * `ObjectLockConfigurationNotFoundError` when it has not).
   */
  async objectLockEnabled(): Promise<boolean> {
    try {
      const answer = await this.client.send(
        new sdk.GetObjectLockConfigurationCommand({ Bucket: this.bucket }),
      );
      return answer.ObjectLockConfiguration?.ObjectLockEnabled === "Enabled";
    } catch (error) {
      const code = (error as { name?: string; Code?: string }).Code ??
        (error as { name?: string }).name;
      if (code === "ObjectLockConfigurationNotFoundError") return false;
      throw classifyS3Error(error, `Object Lock check of bucket ${quote(this.bucket)}`);
    }
  }

  /** The encryption parameters of PutObject and CreateMultipartUpload. */
  private get encryptionParameters() {
    if (!this.encryption) return {};
    return { ServerSideEncryption: "aws:kms" as const, SSEKMSKeyId: this.encryption.kmsKeyId };
  }

  /**
   * A one-key listing rather than HeadBucket: it needs the same permission (s3:ListBucket), and
   * its refusal carries an error code that tells bad credentials from a missing permission.
   */
  async checkAccess(): Promise<void> {
    const operation = `access check of bucket ${quote(this.bucket)}`;
    try {
      // A prefix nothing has: the answer is empty and never cut short (s3rver cannot make the
      // continuation token a cut listing needs).
      await this.client.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: ACCESS_CHECK_PREFIX,
          MaxKeys: 1,
        }),
      );
    } catch (error) {
      const classified = classifyS3Error(error, operation);
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (status === 404) {
        throw new StorageError(
          "permanent",
          `bucket ${quote(this.bucket)} does not exist (${this.description})`,
          { cause: error },
        );
      }
      throw classified;
    }
  }

  async putObject(key: string, body: Uint8Array, storageClass: string): Promise<void> {
    await this.call(
      `upload of ${quote(key)}`,
      () =>
        this.client.send(
          new sdk.PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentLength: body.length,
            ContentMD5: md5Base64(md5Of(body)),
            StorageClass: storageClass as StorageClass,
            ...this.encryptionParameters,
            ...this.retentionParameters,
          }),
        ),
    );
  }

  putFile(key: string, path: string, storageClass: string): Promise<void> {
    return putFileInParts(this, key, path, storageClass);
  }

  async createMultipartUpload(key: string, storageClass: string): Promise<string> {
    const operation = `start of multipart upload of ${quote(key)}`;
    // Named, as the parts' checksums must match it. Left out, S3 (and moto) makes the upload a
    // full-object CRC64NVME one, which moto computes at completion by copying the whole object.
    const checksum = await this.partChecksum() === "crc32"
      ? { ChecksumAlgorithm: "CRC32" as const }
      : {};
    const result = await this.call(
      operation,
      () =>
        this.client.send(
          new sdk.CreateMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            StorageClass: storageClass as StorageClass,
            ...checksum,
            ...this.encryptionParameters,
            ...this.retentionParameters,
          }),
        ),
    );
    if (!result.UploadId) {
      throw new StorageError("transient", `${operation} failed: the server sent no UploadId`);
    }
    return result.UploadId;
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    given?: PartDigest,
  ): Promise<UploadedPartAnswer> {
    const digest = given ?? partDigest(await this.partChecksum(), body);
    const operation = `upload of part ${partNumber} of ${quote(key)}`;
    // S3 checks the part against its digest and refuses it (BadDigest) if it arrived altered.
    const check = "crc32" in digest
      ? { ChecksumAlgorithm: "CRC32" as const, ChecksumCRC32: crc32Base64(digest.crc32) }
      : { ContentMD5: md5Base64(digest.md5) };
    const result = await this.call(
      operation,
      () =>
        this.client.send(
          new sdk.UploadPartCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: body.length,
            ...check,
          }),
        ),
    );
    if (!result.ETag) {
      throw new StorageError("transient", `${operation} failed: the server sent no ETag`);
    }
    return {
      etag: result.ETag,
      crc32: parseCrc32Base64(result.ChecksumCRC32),
      serverSideEncryption: result.ServerSideEncryption,
    };
  }

  async listParts(key: string, uploadId: string): Promise<PartListing> {
    const parts: UploadedPart[] = [];
    let checksumAlgorithm: string | undefined;
    const pages = this.pages(
      `listing of uploaded parts of ${quote(key)}`,
      (marker: string | undefined) =>
        this.client.send(
          new sdk.ListPartsCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            MaxParts: this.pageSize,
            PartNumberMarker: marker,
          }),
        ),
      // A marker handed back unchanged would list the same page for ever.
      (page, marker) =>
        page.IsTruncated && page.NextPartNumberMarker && page.NextPartNumberMarker !== marker
          ? page.NextPartNumberMarker
          : undefined,
    );
    for await (const page of pages) {
      checksumAlgorithm ??= page.ChecksumAlgorithm;
      for (const part of page.Parts ?? []) {
        if (part.PartNumber === undefined || !part.ETag) continue;
        parts.push({ partNumber: part.PartNumber, etag: part.ETag, size: part.Size ?? 0 });
      }
    }
    return checksumAlgorithm ? { parts, checksumAlgorithm } : { parts };
  }

  async completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: CompletedPart[],
  ): Promise<void> {
    await this.call(
      `completion of multipart upload of ${quote(key)}`,
      () =>
        this.client.send(
          new sdk.CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: {
              Parts: parts.map((part) => ({
                PartNumber: part.partNumber,
                ETag: part.etag,
                ...(part.crc32 === undefined ? {} : { ChecksumCRC32: crc32Base64(part.crc32) }),
              })),
            },
          }),
        ),
    ); // The retention asked for at the start, set again on the finished object: a server may drop
    // it from a multipart upload (moto does), and an upload resumed later gets its full term.
    if (this.objectLock) {
      await this.call(
        `Object Lock retention of ${quote(key)}`,
        () =>
          this.client.send(
            new sdk.PutObjectRetentionCommand({
              Bucket: this.bucket,
              Key: key,
              Retention: {
                Mode: this.objectLock!.mode,
                RetainUntilDate: this.retentionParameters.ObjectLockRetainUntilDate,
              },
            }),
          ),
      );
    }
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.call(
        `abort of multipart upload of ${quote(key)}`,
        () =>
          this.client.send(
            new sdk.AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
            }),
          ),
      );
    } catch (error) {
      if (error instanceof StorageError && error.kind === "not-found") return;
      throw error;
    }
  }

  async listMultipartUploads(prefix: string): Promise<PendingUpload[]> {
    const uploads: PendingUpload[] = [];
    const pages = this.pages(
      `listing of unfinished uploads under ${quote(prefix)}`,
      (markers: { key?: string; uploadId?: string } | undefined) =>
        this.client.send(
          new sdk.ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: prefix,
            KeyMarker: markers?.key,
            UploadIdMarker: markers?.uploadId,
          }),
        ),
      (page) =>
        page.IsTruncated && (page.NextKeyMarker || page.NextUploadIdMarker)
          ? { key: page.NextKeyMarker, uploadId: page.NextUploadIdMarker }
          : undefined,
    );
    for await (const page of pages) {
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId) continue;
        uploads.push({ key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated });
      }
    }
    return uploads;
  }

  async headObject(key: string): Promise<ObjectInfo | undefined> {
    try {
      const head = await this.call(
        `metadata request for ${quote(key)}`,
        () => this.client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key })),
      );
      return {
        key,
        size: head.ContentLength ?? 0,
        storageClass: head.StorageClass ?? "STANDARD",
        lastModified: head.LastModified,
        etag: head.ETag,
        restore: parseRestore(head.Restore),
        retainUntil: head.ObjectLockRetainUntilDate,
        retentionMode: head.ObjectLockMode,
      };
    } catch (error) {
      if (error instanceof StorageError && error.kind === "not-found") return undefined;
      throw error;
    }
  }

  async *listObjects(prefix: string): AsyncIterable<ObjectInfo> {
    const pages = this.pages(
      `listing of ${quote(prefix)}`,
      (token: string | undefined) =>
        this.client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            MaxKeys: this.pageSize,
            ContinuationToken: token,
          }),
        ),
      (page) =>
        page.IsTruncated && page.NextContinuationToken ? page.NextContinuationToken : undefined,
    );
    for await (const page of pages) {
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue;
        yield {
          key: item.Key,
          size: item.Size ?? 0,
          storageClass: item.StorageClass ?? "STANDARD",
          lastModified: item.LastModified,
          etag: item.ETag,
        };
      }
    }
  }

  async getObject(
    key: string,
    range?: { start: number; end: number },
  ): Promise<ReadableStream<Uint8Array>> {
    const operation = `download of ${quote(key)}`;
    if (range && !(range.start >= 0 && range.end > range.start)) {
      throw new StorageError(
        "permanent",
        `${operation} failed: invalid range [${range.start}, ${range.end})`,
      );
    }
    const result = await this.call(
      operation,
      () =>
        this.client.send(
          new sdk.GetObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Range: range ? `bytes=${range.start}-${range.end - 1}` : undefined,
          }),
        ),
    );
    if (!result.Body) {
      throw new StorageError("transient", `${operation} failed: the server sent no body`);
    }
    return classifyStreamErrors(result.Body.transformToWebStream(), operation);
  }

  async deleteObject(key: string): Promise<void> {
    try {
      await this.call(
        `deletion of ${quote(key)}`,
        () => this.client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key })),
      );
    } catch (error) {
      if (error instanceof StorageError && error.kind === "not-found") return;
      throw error;
    }
  }

  async restoreObject(key: string, days: number, tier: RestoreTier): Promise<void> {
    try {
      await this.call(
        `restore request for ${quote(key)}`,
        () =>
          this.client.send(
            new sdk.RestoreObjectCommand({
              Bucket: this.bucket,
              Key: key,
              RestoreRequest: { Days: days, GlacierJobParameters: { Tier: tier } },
            }),
          ),
      );
    } catch (error) {
      const cause = (error as { cause?: { Code?: string; name?: string } }).cause;
      const code = cause?.Code ?? cause?.name;
      // Already thawing, or not archived at all (STANDARD): either way there is nothing to do.
      if (code === "RestoreAlreadyInProgress" || code === "InvalidObjectState") return;
      throw error;
    }
  }

  /**
   * Sends a listing request page after page: `request` sends the one that starts at `cursor`
   * (undefined for the first page); `next` gives the cursor of the page after `page`, or
   * undefined when `page` is the last one.
   */
  private async *pages<Page, Cursor>(
    operation: string,
    request: (cursor: Cursor | undefined) => Promise<Page>,
    next: (page: Page, cursor: Cursor | undefined) => Cursor | undefined,
  ): AsyncGenerator<Page> {
    let cursor: Cursor | undefined;
    do {
      const from = cursor;
      const page = await this.call(operation, () => request(from));
      yield page;
      cursor = next(page, from);
    } while (cursor !== undefined);
  }

  /** Runs one SDK call, turning any failure into a classified `StorageError`. */
  private async call<T>(operation: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw classifyS3Error(error, operation);
    }
  }
}

/** Maps `x-amz-restore` to the thaw state. */
export function parseRestore(header: string | undefined): ObjectInfo["restore"] {
  if (!header) return undefined;
  const ongoing = /ongoing-request\s*=\s*"?(true|false)"?/i.exec(header);
  if (!ongoing) return undefined;
  return ongoing[1].toLowerCase() === "true" ? "in-progress" : "restored";
}

/** Re-emits a body stream, turning a mid-body failure into a transient `StorageError`. */
function classifyStreamErrors(
  body: ReadableStream<Uint8Array>,
  operation: string,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        const classified = classifyS3Error(error, operation);
        controller.error(
          classified.kind === "transient" ? classified : new StorageError(
            "transient",
            classified.message,
            { cause: error },
          ),
        );
      }
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  });
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function withoutUserInfo(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.href.replace(/\/$/, "");
  } catch {
    return url.replace(/\/\/[^@/]*@/, "//");
  }
}
