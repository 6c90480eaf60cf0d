/**
 * The age v1 file format (https://age-encryption.org/v1) for X25519 recipients, streaming, on
 * node:crypto. This is the public entry of the crypto module.
 */

import { AgeError } from "./errors.ts";
import {
  encodeX25519Recipient,
  generateX25519Identity,
  parseX25519Identity,
  parseX25519Recipient,
} from "./x25519.ts";

export { AgeError, NoMatchingIdentityError } from "./errors.ts";
export { AgeEncryptor, createEncryptStream } from "./encrypt_stream.ts";
export { createDecryptStream } from "./decrypt_stream.ts";
export { parseIdentityFile } from "./identity_file.ts";

/** A new X25519 identity, "AGE-SECRET-KEY-1..." (upper-case Bech32, as age-keygen prints). */
export function generateIdentity(): string {
  return generateX25519Identity();
}

/** The "age1..." recipient of an identity. Throws AgeError if the identity is malformed. */
export function recipientFromIdentity(identity: string): string {
  return encodeX25519Recipient(parseX25519Identity(identity.trim()).recipient);
}

/** Throws AgeError naming the problem if `recipient` is not a valid age1 X25519 recipient. */
export function validateRecipient(recipient: string): void {
  if (typeof recipient !== "string" || recipient.length === 0) {
    throw new AgeError("invalid age recipient: empty");
  }
  parseX25519Recipient(recipient);
}
