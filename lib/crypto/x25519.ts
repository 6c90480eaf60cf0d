/**
 * The age X25519 recipient type: Bech32 identities and recipients, and wrapping and unwrapping of
 * the file key in "X25519" stanzas.
 */

import { Buffer } from "node:buffer";
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { open, seal } from "./aead.ts";
import { decodeBase64Unpadded, encodeBase64Unpadded } from "./base64.ts";
import { Bech32Error, decodeBech32, encodeBech32 } from "./bech32.ts";
import { AgeError } from "./errors.ts";
import type { Stanza } from "./header.ts";

/** The first argument of an X25519 stanza. */
export const X25519_STANZA_TYPE = "X25519";

const IDENTITY_HRP = "AGE-SECRET-KEY-";
const RECIPIENT_HRP = "age";
const WRAP_INFO = "age-encryption.org/v1/X25519";
const KEY_SIZE = 32;
const FILE_KEY_SIZE = 16;
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const ZERO_NONCE = new Uint8Array(12);

/** A parsed X25519 identity: its private key and the raw bytes of its recipient (public key). */
export interface X25519Identity {
  privateKey: KeyObject;
  recipient: Uint8Array;
}

function importPrivateKey(secret: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, secret]),
    format: "der",
    type: "pkcs8",
  });
}

function importPublicKey(point: Uint8Array): KeyObject {
  return createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, point]),
    format: "der",
    type: "spki",
  });
}

function exportPublicKey(key: KeyObject): Uint8Array {
  const publicKey = key.type === "public" ? key : createPublicKey(key);
  const der = publicKey.export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(der.length - KEY_SIZE));
}

/** X25519, or null if the result is all zeros (a low-order point) or the point is rejected. */
function sharedSecret(privateKey: KeyObject, point: Uint8Array): Uint8Array | null {
  let secret: Uint8Array;
  try {
    secret = diffieHellman({ privateKey, publicKey: importPublicKey(point) });
  } catch {
    return null;
  }
  return secret.every((byte) => byte === 0) ? null : secret;
}

function wrapKey(secret: Uint8Array, share: Uint8Array, recipient: Uint8Array): Uint8Array {
  const salt = Buffer.concat([share, recipient]);
  return new Uint8Array(hkdfSync("sha256", secret, salt, WRAP_INFO, 32));
}

let probeKey: KeyObject | undefined;

function isLowOrderPoint(point: Uint8Array): boolean {
  probeKey ??= generateKeyPairSync("x25519").privateKey;
  return sharedSecret(probeKey, point) === null;
}

/** Generates a new identity, encoded as age-keygen prints it ("AGE-SECRET-KEY-1..."). */
export function generateX25519Identity(): string {
  return encodeBech32(IDENTITY_HRP, randomBytes(KEY_SIZE), true);
}

/** Parses an "AGE-SECRET-KEY-1..." identity; throws AgeError (without echoing the key) if bad. */
export function parseX25519Identity(text: string): X25519Identity {
  let decoded;
  try {
    decoded = decodeBech32(text);
  } catch (error) {
    const reason = error instanceof Bech32Error ? error.message : "not Bech32";
    throw new AgeError(`malformed age identity: ${reason}`);
  }
  if (decoded.hrp !== IDENTITY_HRP) {
    if (decoded.hrp.toUpperCase() === IDENTITY_HRP) {
      throw new AgeError("malformed age identity: it must be upper case (AGE-SECRET-KEY-1...)");
    }
    throw new AgeError("malformed age identity: expected an AGE-SECRET-KEY-1... X25519 key");
  }
  if (decoded.data.length !== KEY_SIZE) {
    throw new AgeError("malformed age identity: wrong key length");
  }
  const privateKey = importPrivateKey(decoded.data);
  return { privateKey, recipient: exportPublicKey(privateKey) };
}

function describeRecipient(text: string): string {
  return text.startsWith("age1") && text.length <= 100 ? `"${text}"` : "";
}

/** Parses an "age1..." X25519 recipient into its 32 raw bytes; throws AgeError naming the problem. */
export function parseX25519Recipient(text: string): Uint8Array {
  const shown = describeRecipient(text);
  const prefix = shown ? `invalid age recipient ${shown}` : "invalid age recipient";
  if (text.startsWith("AGE-SECRET-KEY-")) {
    throw new AgeError(`${prefix}: this is a secret key (identity), not a public recipient`);
  }
  if (text.startsWith("ssh-")) throw new AgeError(`${prefix}: SSH recipients are not supported`);
  let decoded;
  try {
    decoded = decodeBech32(text);
  } catch (error) {
    const reason = error instanceof Bech32Error ? error.message : "not Bech32";
    throw new AgeError(`${prefix}: ${reason}`);
  }
  if (decoded.hrp !== RECIPIENT_HRP) {
    if (decoded.hrp.startsWith("age1")) {
      throw new AgeError(`${prefix}: plugin and post-quantum recipients are not supported`);
    }
    throw new AgeError(`${prefix}: expected an age1... X25519 recipient (lower case)`);
  }
  if (decoded.data.length !== KEY_SIZE) throw new AgeError(`${prefix}: wrong key length`);
  if (isLowOrderPoint(decoded.data)) throw new AgeError(`${prefix}: not a usable X25519 key`);
  return decoded.data;
}

/** Encodes the raw bytes of an X25519 public key as an "age1..." recipient. */
export function encodeX25519Recipient(publicKey: Uint8Array): string {
  return encodeBech32(RECIPIENT_HRP, publicKey);
}

/** Wraps `fileKey` for `recipient` (raw public key) in a new X25519 stanza. */
export function wrapFileKey(fileKey: Uint8Array, recipient: Uint8Array): Stanza {
  const ephemeral = generateKeyPairSync("x25519");
  const share = exportPublicKey(ephemeral.publicKey);
  const secret = sharedSecret(ephemeral.privateKey, recipient);
  if (secret === null) throw new AgeError("invalid age recipient: not a usable X25519 key");
  const key = wrapKey(secret, share, recipient);
  return {
    args: [X25519_STANZA_TYPE, encodeBase64Unpadded(share)],
    body: seal(key, ZERO_NONCE, fileKey),
  };
}

/**
 * Unwraps the file key from an X25519 stanza with `identity`: returns null if the stanza is not
 * addressed to it; throws AgeError if the stanza is malformed.
 */
export function unwrapFileKey(stanza: Stanza, identity: X25519Identity): Uint8Array | null {
  if (stanza.args.length !== 2) {
    throw new AgeError("malformed age header: X25519 stanza must have exactly one argument");
  }
  const share = decodeBase64Unpadded(stanza.args[1]);
  if (share === null || share.length !== KEY_SIZE) {
    throw new AgeError("malformed age header: invalid X25519 ephemeral share");
  }
  if (stanza.body.length !== FILE_KEY_SIZE + 16) {
    throw new AgeError("malformed age header: X25519 stanza body has the wrong length");
  }
  const secret = sharedSecret(identity.privateKey, share);
  if (secret === null) {
    throw new AgeError("malformed age header: X25519 ephemeral share is a low-order point");
  }
  return open(wrapKey(secret, share, identity.recipient), ZERO_NONCE, stanza.body);
}
