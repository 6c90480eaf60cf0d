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
