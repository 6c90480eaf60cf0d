/** Streaming age encryption: plaintext in, a complete age v1 file out. */

import { randomBytes } from "node:crypto";
import { sealInto, TAG_SIZE } from "./aead.ts";
import { AgeError } from "./errors.ts";
import { encodeHeader } from "./header.ts";
import { OutputBatcher } from "./output_batch.ts";
import {
  CHUNK_SIZE,
  ChunkCutter,
  ChunkNonces,
  derivePayloadKey,
  PAYLOAD_NONCE_SIZE,
} from "./payload.ts";
import { parseX25519Recipient, wrapFileKey } from "./x25519.ts";

const FILE_KEY_SIZE = 16;

/**
 * Encrypts to the X25519 `recipients`, one input chunk at a time, with no stream around it (for
 * a worker thread that writes what it encrypts). What `emit` receives, in order, is a complete
 * age file: header, payload nonce, then 64 KiB STREAM chunks, in batches of about 1 MiB, each
 * region emitted once and never written again. Throws AgeError at once if a recipient is invalid.
 */
export class AgeEncryptor {
  readonly #payloadKey: Uint8Array;
  readonly #nonces = new ChunkNonces();
  readonly #output: OutputBatcher;
  /** Plaintext in chunks: the middle ones sealed as they come, the last held back. */
  readonly #chunks = new ChunkCutter(CHUNK_SIZE, (plaintext) => this.#seal(plaintext, false));

  constructor(recipients: string[], emit: (chunk: Uint8Array) => void) {
    if (recipients.length === 0) throw new AgeError("no age recipients given");
    const publicKeys = recipients.map(parseX25519Recipient);
    const fileKey = randomBytes(FILE_KEY_SIZE);
    const header = encodeHeader(publicKeys.map((key) => wrapFileKey(fileKey, key)), fileKey);
    const payloadNonce = randomBytes(PAYLOAD_NONCE_SIZE);
    this.#payloadKey = derivePayloadKey(fileKey, payloadNonce);
    fileKey.fill(0);
    this.#output = new OutputBatcher(emit);
    this.#output.write(header);
    this.#output.write(payloadNonce);
  }

  /** Encrypts `chunk` (copied or sealed before this returns: the caller may reuse it). */
  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
  }

  /** Seals the last chunk and emits what is left. Call once, after the last `push`. */
  finish(): void {
    // Never empty unless the whole plaintext is: input always leaves at least a byte pending.
    this.#seal(this.#chunks.held, true);
    this.#output.flush();
  }

  #seal(plaintext: Uint8Array, last: boolean): void {
    const size = plaintext.length + TAG_SIZE;
    const { buffer, offset } = this.#output.reserve(size);
    sealInto(this.#payloadKey, this.#nonces.current(last), plaintext, buffer, offset);
    this.#output.commit(size);
    this.#nonces.advance();
  }
}

/**
 * Encrypts to the X25519 `recipients` as a stream (see `AgeEncryptor`). Throws AgeError at once
 * if a recipient is invalid.
 */
export function createEncryptStream(recipients: string[]): TransformStream<Uint8Array, Uint8Array> {
  let emit: (chunk: Uint8Array) => void = () => {};
  const encryptor = new AgeEncryptor(recipients, (chunk) => emit(chunk));
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      emit = (chunk) => controller.enqueue(chunk);
    },
    transform(chunk) {
      encryptor.push(chunk);
    },
    flush() {
      encryptor.finish();
    },
  });
}
