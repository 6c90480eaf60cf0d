/** The unpadded, canonical standard base64 that the age header uses. */

import { Buffer } from "node:buffer";

const BASE64_ALPHABET = /^[A-Za-z0-9+/]*$/;

/** Encodes bytes as standard base64 without `=` padding. */
export function encodeBase64Unpadded(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64")
    .replace(/=+$/, "");
}

/**
 * Decodes unpadded standard base64, or returns null if `text` is not its canonical encoding
 * (padding, other characters, an impossible length or non-zero trailing bits).
 */
export function decodeBase64Unpadded(text: string): Uint8Array | null {
  if (!BASE64_ALPHABET.test(text) || text.length % 4 === 1) return null;
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  return encodeBase64Unpadded(bytes) === text ? bytes : null;
}
