/** Streaming age encryption: plaintext in, a complete age v1 file out. */

import { randomBytes } from "node:crypto";
import { sealInto, TAG_SIZE } from "./aead.ts";
import { AgeError } from "./errors.ts";
import { encodeHeader } from "./header.ts";
import { OutputBatcher } from "./output_batch.ts";
import { CHUNK_SIZE, ChunkNonces, derivePayloadKey, PAYLOAD_NONCE_SIZE } from "./payload.ts";
import { parseX25519Recipient, wrapFileKey } from "./x25519.ts";

const FILE_KEY_SIZE = 16;

/**
 * Encrypts to the X25519 `recipients`: the output is a complete age file (header, payload nonce,
 * then 64 KiB STREAM chunks). Throws AgeError at once if a recipient is invalid.
 */
export function createEncryptStream(recipients: string[]): TransformStream<Uint8Array, Uint8Array> {
  if (recipients.length === 0) throw new AgeError("no age recipients given");
  const publicKeys = recipients.map(parseX25519Recipient);
  const fileKey = randomBytes(FILE_KEY_SIZE);
  const header = encodeHeader(publicKeys.map((key) => wrapFileKey(fileKey, key)), fileKey);
  const payloadNonce = randomBytes(PAYLOAD_NONCE_SIZE);
  const payloadKey = derivePayloadKey(fileKey, payloadNonce);
  fileKey.fill(0);

  const nonces = new ChunkNonces();
  // Plaintext of the chunk being filled; a full chunk waits here until more input shows that it
  // is not the last one.
  const pending = new Uint8Array(CHUNK_SIZE);
  let pendingLength = 0;
  let output: OutputBatcher;

  const sealChunk = (plaintext: Uint8Array, last: boolean): void => {
    const size = plaintext.length + TAG_SIZE;
    const { buffer, offset } = output.reserve(size);
    sealInto(payloadKey, nonces.current(last), plaintext, buffer, offset);
    output.commit(size);
    nonces.advance();
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      output = new OutputBatcher((chunk) => controller.enqueue(chunk));
      output.write(header);
      output.write(payloadNonce);
    },
    transform(chunk) {
      let position = 0;
      while (position < chunk.length) {
        if (pendingLength === CHUNK_SIZE) {
          sealChunk(pending, false);
          pendingLength = 0;
        }
        if (pendingLength === 0) {
          // Seal full chunks straight from the input while more input follows them.
          while (chunk.length - position > CHUNK_SIZE) {
            sealChunk(chunk.subarray(position, position + CHUNK_SIZE), false);
            position += CHUNK_SIZE;
          }
        }
        const take = Math.min(CHUNK_SIZE - pendingLength, chunk.length - position);
        pending.set(chunk.subarray(position, position + take), pendingLength);
        pendingLength += take;
        position += take;
      }
    },
    flush() {
      // Never empty unless the whole plaintext is: input always leaves at least a byte pending.
      sealChunk(pending.subarray(0, pendingLength), true);
      output.flush();
    },
  });
}
