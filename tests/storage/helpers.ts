/** Small helpers shared by the storage tests. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { StorageError, type StorageErrorKind } from "../../lib/storage/storage.ts";

/** Reads a whole stream into one array. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Collects an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const item of items) result.push(item);
  return result;
}

/** Asserts that `promise` rejects with a `StorageError` of `kind`; returns the error. */
export async function rejectsWithKind(
  promise: Promise<unknown>,
  kind: StorageErrorKind,
  messagePattern?: RegExp,
): Promise<StorageError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof StorageError, `expected a StorageError, got ${caught}`);
  assert.equal(caught.kind, kind, `wrong kind for: ${caught.message}`);
  assert.ok(!caught.message.includes("\n"), `message is not one line: ${caught.message}`);
  if (messagePattern) assert.match(caught.message, messagePattern);
  return caught;
}

/** `length` bytes of a repeatable pseudo-random pattern. */
export function patternBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** Lowercase hex of `bytes` random bytes. */
export function randomHexId(bytes = 6): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)))
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * Writes an unfinished multipart upload of `key` as older versions emulated it in a folder bucket:
 * `.glacier-uploads/<uploadId>/upload.json` and one part, `part`.
 */
export async function legacyUpload(
  root: string,
  uploadId: string,
  key: string,
  part: Uint8Array = patternBytes(100, 1),
): Promise<void> {
  const upload = join(root, ".glacier-uploads", uploadId);
  await Deno.mkdir(upload, { recursive: true });
  const meta = { key, storageClass: "DEEP_ARCHIVE", initiated: new Date().toISOString() };
  await Deno.writeTextFile(join(upload, "upload.json"), JSON.stringify(meta));
  await Deno.writeFile(join(upload, "00001"), part);
}
