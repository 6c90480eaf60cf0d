/** Streaming age decryption: an age v1 file in, authenticated plaintext out. */

import { open } from "./aead.ts";
import { AgeError, NoMatchingIdentityError } from "./errors.ts";
import { HeaderAccumulator, parseHeader, verifyHeaderMac } from "./header.ts";
import { OutputBatcher } from "./output_batch.ts";
import { freeWholeBuffer } from "../memory/buffer_release.ts";
import {
  ChunkCutter,
  ChunkNonces,
  derivePayloadKey,
  PAYLOAD_NONCE_SIZE,
  SEALED_CHUNK_SIZE,
} from "./payload.ts";
import {
  parseX25519Identity,
  unwrapFileKey,
  X25519_STANZA_TYPE,
  type X25519Identity,
} from "./x25519.ts";

/** Parses the header and returns the file key, unwrapped with one of `identities`. */
function unlockFileKey(headerBytes: Uint8Array, identities: X25519Identity[]): Uint8Array {
  const header = parseHeader(headerBytes);
  if (header.stanzas.some((stanza) => stanza.args[0] === "scrypt")) {
    if (header.stanzas.length !== 1) {
      throw new AgeError("malformed age header: an scrypt stanza must be the only stanza");
    }
    throw new AgeError("passphrase-encrypted files are not supported");
  }
  const x25519Stanzas = header.stanzas.filter((stanza) => stanza.args[0] === X25519_STANZA_TYPE);
  if (x25519Stanzas.length === 0) {
    throw new AgeError(
      "the file is not encrypted to any X25519 recipient, so no identity can open it",
    );
  }
  for (const stanza of x25519Stanzas) {
    for (const identity of identities) {
      const fileKey = unwrapFileKey(stanza, identity);
      if (fileKey === null) continue;
      if (!verifyHeaderMac(fileKey, header)) {
        throw new AgeError("age header MAC mismatch: the file is corrupted or was tampered with");
      }
      return fileKey;
    }
  }
  throw new NoMatchingIdentityError(
    "no identity matches any of the file's recipients (wrong key?)",
  );
}

/** Decrypts the payload (nonce and chunks) that follows the header. */
class PayloadDecryptor {
  readonly #fileKey: Uint8Array;
  readonly #output: OutputBatcher;
  readonly #nonce = new Uint8Array(PAYLOAD_NONCE_SIZE);
  #nonceLength = 0;
  #key: Uint8Array | null = null;
  readonly #nonces = new ChunkNonces();
  /** Sealed chunks: the middle ones opened as they come, the last held back. */
  readonly #chunks = new ChunkCutter(SEALED_CHUNK_SIZE, (sealed) => this.#openMiddleChunk(sealed));

  constructor(fileKey: Uint8Array, output: OutputBatcher) {
    this.#fileKey = fileKey;
    this.#output = output;
  }

  push(data: Uint8Array): void {
    let position = 0;
    if (this.#key === null) {
      const take = Math.min(PAYLOAD_NONCE_SIZE - this.#nonceLength, data.length);
      this.#nonce.set(data.subarray(0, take), this.#nonceLength);
      this.#nonceLength += take;
      position = take;
      if (this.#nonceLength < PAYLOAD_NONCE_SIZE) return;
      this.#key = derivePayloadKey(this.#fileKey, this.#nonce);
      this.#fileKey.fill(0);
    }
    this.#chunks.push(data, position);
  }

  /** Called at the end of input: the pending bytes must be a valid final chunk. */
  finish(): void {
    if (this.#key === null) throw new AgeError("the age file is truncated (no payload)");
    const sealed = this.#chunks.held;
    if (sealed.length === 0) {
      throw new AgeError("the age file is truncated (the final chunk is missing)");
    }
    const key = this.#key;
    const plaintext = open(key, this.#nonces.current(true), sealed);
    if (plaintext === null) {
      if (
        sealed.length === SEALED_CHUNK_SIZE &&
        open(key, this.#nonces.current(false), sealed) !== null
      ) {
        throw new AgeError("the age file is truncated (the final chunk is missing)");
      }
      throw this.#chunkFailure();
    }
    if (plaintext.length === 0 && this.#nonces.counter > 0) {
      throw new AgeError("malformed age payload: empty final chunk");
    }
    this.#output.write(plaintext);
  }

  #openMiddleChunk(sealed: Uint8Array): void {
    const key = this.#key!;
    const plaintext = open(key, this.#nonces.current(false), sealed);
    if (plaintext === null) {
      if (open(key, this.#nonces.current(true), sealed) !== null) {
        throw new AgeError("trailing data after the end of the age file");
      }
      throw this.#chunkFailure();
    }
    this.#output.write(plaintext);
    releasePlaintext(plaintext);
    this.#nonces.advance();
  }

  #chunkFailure(): AgeError {
    return new AgeError(
      `age payload chunk ${this.#nonces.counter} failed authentication: ` +
        "the file is corrupted, truncated or was tampered with",
    );
  }
}

/**
 * Frees a chunk's plaintext once copied into the output batch: node:crypto allocates each one,
 * and a gigabyte of 64 KiB buffers left to the garbage collector held tens of MiB of RSS. Small
 * results may be views into Node's shared buffer pool, so only a large whole buffer is freed.
 */
function releasePlaintext(plaintext: Uint8Array): void {
  if (plaintext.byteLength >= 4096) freeWholeBuffer(plaintext);
}

/**
 * Decrypts an age file with any of the X25519 `identities`. Plaintext of a chunk is emitted only
 * after that chunk authenticated. Failures (no matching identity, bad header MAC, a chunk failing
 * authentication, truncation, trailing data) abort the stream with an AgeError. Throws AgeError at
 * once if an identity is malformed.
 */
export function createDecryptStream(identities: string[]): TransformStream<Uint8Array, Uint8Array> {
  if (identities.length === 0) throw new AgeError("no age identities given");
  const parsed = identities.map((identity) => parseX25519Identity(identity.trim()));
  const header = new HeaderAccumulator();
  let payload: PayloadDecryptor | null = null;
  let output: OutputBatcher;

  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      output = new OutputBatcher((chunk) => controller.enqueue(chunk));
    },
    transform(chunk) {
      if (payload !== null) {
        payload.push(chunk);
        return;
      }
      const rest = header.push(chunk);
      if (rest === null) return;
      payload = new PayloadDecryptor(unlockFileKey(header.header, parsed), output);
      for (const piece of rest) payload.push(piece);
    },
    flush() {
      if (payload === null) {
        if (header.length === 0) throw new AgeError("not an age encrypted file (empty input)");
        throw new AgeError("the age file is truncated (incomplete header)");
      }
      payload.finish();
      output.flush();
    },
  });
}
