/** The age v1 payload: key derivation, chunk sizes and STREAM nonces. */

import { hkdfSync } from "node:crypto";
import { TAG_SIZE } from "./aead.ts";

/** Plaintext bytes per payload chunk (64 KiB). */
export const CHUNK_SIZE = 64 * 1024;

/** Bytes of an encrypted full chunk: ciphertext and tag. */
export const SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;

/** Length of the random nonce that starts the payload. */
export const PAYLOAD_NONCE_SIZE = 16;

/** The payload key: HKDF-SHA-256(file key, salt = payload nonce, info = "payload"). */
export function derivePayloadKey(fileKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", fileKey, nonce, "payload", 32));
}

/** STREAM nonces: an 11-byte big-endian chunk counter followed by the last-chunk flag. */
export class ChunkNonces {
  #counter = 0;
  readonly #nonce = new Uint8Array(12);
  readonly #view = new DataView(this.#nonce.buffer);

  /** Index of the chunk the next nonce is for. */
  get counter(): number {
    return this.#counter;
  }

  /** The nonce of the current chunk (valid until the next call of this method). */
  current(last: boolean): Uint8Array {
    const counter = this.#counter;
    this.#view.setUint32(3, Math.floor(counter / 0x1_0000_0000));
    this.#view.setUint32(7, counter >>> 0);
    this.#nonce[11] = last ? 1 : 0;
    return this.#nonce;
  }

  /** Moves on to the next chunk. */
  advance(): void {
    this.#counter++;
    if (!Number.isSafeInteger(this.#counter)) throw new RangeError("age chunk counter overflow");
  }
}

/**
 * Cuts a byte stream into the payload's fixed-size chunks as it comes, holding back the latest
 * full chunk until more input shows that it is not the last (STREAM seals the last one apart).
 * Full chunks inside one input go to `onMiddleChunk` straight from it, uncopied; the rest waits
 * in a buffer of its own. Encryption cuts plaintext so, decryption sealed chunks.
 */
export class ChunkCutter {
  readonly #pending: Uint8Array;
  #length = 0;

  /** Chunks of `size` bytes; `onMiddleChunk` must be done with each one when it returns. */
  constructor(size: number, private readonly onMiddleChunk: (chunk: Uint8Array) => void) {
    this.#pending = new Uint8Array(size);
  }

  /** Takes in `data` from `position` on. */
  push(data: Uint8Array, position = 0): void {
    const size = this.#pending.length;
    while (position < data.length) {
      if (this.#length === size) {
        this.onMiddleChunk(this.#pending);
        this.#length = 0;
      }
      if (this.#length === 0) {
        while (data.length - position > size) {
          this.onMiddleChunk(data.subarray(position, position + size));
          position += size;
        }
      }
      const take = Math.min(size - this.#length, data.length - position);
      this.#pending.set(data.subarray(position, position + take), this.#length);
      this.#length += take;
      position += take;
    }
  }

  /** What is held back: once the input has ended, the last chunk (empty if no byte came). */
  get held(): Uint8Array {
    return this.#pending.subarray(0, this.#length);
  }
}
