/**
 * Retries around any `Storage`, modelled on restic's backend/retry: transient failures (network,
 * timeouts, 5xx, throttling) are retried for ever with capped exponential backoff and jitter, so a
 * backup rides out a long network outage; every other kind is thrown at once. `checkAccess` is the
 * exception: it gives up after a few attempts, so a wrong endpoint fails at start-up.
 */

import {
  type CompletedPart,
  type MultipartStorage,
  type ObjectInfo,
  type RestoreTier,
  type Storage,
  StorageError,
  supportsMultipart,
} from "./storage.ts";
import { compareKeys } from "./key_order.ts";
import { putFileInParts } from "./multipart.ts";
import type { PartDigest } from "./part_digest.ts";

/** What one retry is about to do; for logging. */
export interface RetryInfo {
  /** Method name, e.g. `uploadPart`. */
  operation: string;
  /** 1 for the first retry, 2 for the second, ... */
  attempt: number;
  /** How long the wrapper waits before the retry. */
  delayMs: number;
  /** The transient failure being retried. */
  error: StorageError;
}

/** Settings of `withRetry`. */
export interface RetryOptions {
  /** Cap of the first retry's delay; doubles each retry (default 1000). */
  baseDelayMs?: number;
  /** Largest delay between two attempts (default 120000). */
  maxDelayMs?: number;
  /** Attempts of `checkAccess` before it fails as permanent (default 4). */
  checkAccessAttempts?: number;
  /** Called before each wait. */
  onRetry?: (info: RetryInfo) => void;
  /** Aborting stops a pending wait at once; the call rejects with an `AbortError`. */
  signal?: AbortSignal;
  /** Waits `ms` (default: a timer that the signal cancels). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform random number in [0, 1) (default `Math.random`). */
  random?: () => number;
}

const DEFAULT_BASE_DELAY_MS = 1000;
const DEFAULT_MAX_DELAY_MS = 120_000;
const DEFAULT_CHECK_ACCESS_ATTEMPTS = 4;

/**
 * The wait before retry number `attempt` (1-based), "equal jitter": with
 * `cap = min(maxDelayMs, baseDelayMs * 2^(attempt-1))` the delay is uniform in `[cap/2, cap)`.
 * Half the cap is guaranteed, so waits really grow; the random half spreads out clients that
 * failed together.
 */
export function backoffDelay(
  attempt: number,
  options: { baseDelayMs?: number; maxDelayMs?: number },
  random: () => number,
): number {
  const base = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const exponent = Math.min(Math.max(attempt, 1) - 1, 52);
  const cap = Math.min(max, base * 2 ** exponent);
  return Math.round(cap / 2 + (cap / 2) * random());
}

/**
 * Wraps `storage` so that transient failures are retried (see the module doc). Listings resume
 * after a failure: the listing restarts and skips the keys it already yielded (listings come in
 * key order). `getObject` retries the request; a stream that fails mid-body is the caller's
 * concern. A multipart store stays one: each of its requests is retried on its own, and so is
 * each part of its `putFile`.
 */
export function withRetry(storage: MultipartStorage, options?: RetryOptions): MultipartStorage;
export function withRetry(storage: Storage, options?: RetryOptions): Storage;
export function withRetry(storage: Storage, options: RetryOptions = {}): Storage {
  return supportsMultipart(storage)
    ? new RetryingMultipartStorage(storage, options)
    : new RetryingStorage(storage, options);
}

class RetryingStorage implements Storage {
  readonly description: string;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  /** Present when the wrapped store can tell (S3): whether the bucket has Object Lock. */
  readonly objectLockEnabled?: () => Promise<boolean>;

  constructor(private readonly inner: Storage, private readonly options: RetryOptions) {
    this.description = inner.description;
    this.sleep = options.sleep ?? abortableSleep;
    this.random = options.random ?? Math.random;
    if (inner.objectLockEnabled) {
      this.objectLockEnabled = () =>
        this.retry("objectLockEnabled", () => inner.objectLockEnabled!());
    }
  }

  async checkAccess(): Promise<void> {
    const attempts = Math.max(1, this.options.checkAccessAttempts ?? DEFAULT_CHECK_ACCESS_ATTEMPTS);
    try {
      await this.retry("checkAccess", () => this.inner.checkAccess(), attempts);
    } catch (error) {
      if (error instanceof StorageError && error.kind === "transient") {
        throw new StorageError(
          "permanent",
          `cannot reach ${this.description}: ${error.message}`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  putObject(key: string, body: Uint8Array, storageClass: string): Promise<void> {
    return this.retry("putObject", () => this.inner.putObject(key, body, storageClass));
  }

  putFile(key: string, path: string, storageClass: string): Promise<void> {
    return this.retry("putFile", () => this.inner.putFile(key, path, storageClass));
  }

  headObject(key: string) {
    return this.retry("headObject", () => this.inner.headObject(key));
  }

  async *listObjects(prefix: string): AsyncIterable<ObjectInfo> {
    let lastKey: string | undefined;
    let attempt = 0;
    while (true) {
      this.throwIfAborted();
      try {
        for await (const info of this.inner.listObjects(prefix)) {
          if (lastKey !== undefined && compareKeys(info.key, lastKey) <= 0) continue;
          lastKey = info.key;
          attempt = 0;
          yield info;
        }
        return;
      } catch (error) {
        if (!(error instanceof StorageError) || error.kind !== "transient") throw error;
        attempt++;
        await this.wait("listObjects", attempt, error);
      }
    }
  }

  getObject(key: string, range?: { start: number; end: number }) {
    return this.retry("getObject", () => this.inner.getObject(key, range));
  }

  deleteObject(key: string): Promise<void> {
    return this.retry("deleteObject", () => this.inner.deleteObject(key));
  }

  restoreObject(key: string, days: number, tier: RestoreTier): Promise<void> {
    return this.retry("restoreObject", () => this.inner.restoreObject(key, days, tier));
  }

  /** Runs `call` until it succeeds, fails with a non-transient error, or `maxAttempts` is used up. */
  protected async retry<T>(
    operation: string,
    call: () => Promise<T>,
    maxAttempts = Infinity,
  ): Promise<T> {
    for (let attempt = 1;; attempt++) {
      this.throwIfAborted();
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof StorageError) || error.kind !== "transient") throw error;
        if (attempt >= maxAttempts) throw error;
        await this.wait(operation, attempt, error);
      }
    }
  }

  private async wait(operation: string, attempt: number, error: StorageError): Promise<void> {
    const delayMs = backoffDelay(attempt, this.options, this.random);
    this.options.onRetry?.({ operation, attempt, delayMs, error });
    this.throwIfAborted();
    await this.sleep(delayMs, this.options.signal);
    this.throwIfAborted();
  }

  private throwIfAborted(): void {
    if (this.options.signal?.aborted) throw abortError();
  }
}

/** `RetryingStorage` of a multipart store: its multipart requests are retried one by one. */
class RetryingMultipartStorage extends RetryingStorage implements MultipartStorage {
  constructor(private readonly multipart: MultipartStorage, options: RetryOptions) {
    super(multipart, options);
  }

  partChecksum() {
    return this.multipart.partChecksum();
  }

  /** Part by part through this wrapper, so that a failed part is retried, not the whole file. */
  override putFile(key: string, path: string, storageClass: string): Promise<void> {
    return putFileInParts(this, key, path, storageClass);
  }

  createMultipartUpload(key: string, storageClass: string): Promise<string> {
    return this.retry(
      "createMultipartUpload",
      () => this.multipart.createMultipartUpload(key, storageClass),
    );
  }

  uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    digest?: PartDigest,
  ) {
    return this.retry(
      "uploadPart",
      () => this.multipart.uploadPart(key, uploadId, partNumber, body, digest),
    );
  }

  listParts(key: string, uploadId: string) {
    return this.retry("listParts", () => this.multipart.listParts(key, uploadId));
  }

  completeMultipartUpload(key: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    return this.retry(
      "completeMultipartUpload",
      () => this.multipart.completeMultipartUpload(key, uploadId, parts),
    );
  }

  abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    return this.retry(
      "abortMultipartUpload",
      () => this.multipart.abortMultipartUpload(key, uploadId),
    );
  }

  listMultipartUploads(prefix: string) {
    return this.retry("listMultipartUploads", () => this.multipart.listMultipartUploads(prefix));
  }
}

/** Resolves after `ms`, or rejects with an `AbortError` as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function abortError(): DOMException {
  return new DOMException("storage operation aborted", "AbortError");
}
