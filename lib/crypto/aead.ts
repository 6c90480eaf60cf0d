/** ChaCha20-Poly1305 (RFC 7539) with 16-byte tags, on node:crypto. */

import { createCipheriv, createDecipheriv } from "node:crypto";
import { freeBuffer, isWholeBuffer } from "../memory/buffer_release.ts";

/** Length of a Poly1305 authentication tag. */
export const TAG_SIZE = 16;

const ALGORITHM = "chacha20-poly1305";

/**
 * Encrypts `plaintext` and writes ciphertext then tag into `out` at `offset`; returns the number of
 * bytes written (`plaintext.length + TAG_SIZE`).
 */
export function sealInto(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
  offset: number,
): number {
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_SIZE });
  const ciphertext = cipher.update(plaintext);
  const rest = cipher.final();
  out.set(ciphertext, offset);
  out.set(rest, offset + ciphertext.length);
  out.set(cipher.getAuthTag(), offset + ciphertext.length + rest.length);
  // node:crypto allocates each result; release it now rather than leave a gigabyte of 64 KiB
  // buffers to the garbage collector.
  if (isWholeBuffer(ciphertext) && ciphertext.byteLength >= 4096) freeBuffer(ciphertext.buffer);
  return plaintext.length + TAG_SIZE;
}

/** Encrypts `plaintext`, returning ciphertext || tag. */
export function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + TAG_SIZE);
  sealInto(key, nonce, plaintext, out, 0);
  return out;
}

/**
 * Decrypts ciphertext || tag, returning the plaintext only once the tag has been verified, or null
 * if authentication fails.
 */
export function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < TAG_SIZE) return null;
  const split = sealed.length - TAG_SIZE;
  const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_SIZE });
  decipher.setAuthTag(sealed.subarray(split));
  const plaintext = decipher.update(sealed.subarray(0, split));
  try {
    const rest = decipher.final();
    if (rest.length === 0) return plaintext;
    const joined = new Uint8Array(plaintext.length + rest.length);
    joined.set(plaintext);
    joined.set(rest, plaintext.length);
    return joined;
  } catch {
    return null;
  }
}
