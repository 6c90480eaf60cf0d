/**
 * Throughput of the age streams: 256 MiB pushed in 1 MiB writes through createEncryptStream and
 * createDecryptStream, next to raw node:crypto chacha20-poly1305 on the same data. Each figure is
 * the best of a few runs; output is consumed without copying.
 *
 *     deno run --allow-all testing/bench/age_bench.ts [MiB] [runs]
 */

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import {
  createDecryptStream,
  createEncryptStream,
  generateIdentity,
  recipientFromIdentity,
} from "../../lib/crypto/age.ts";
import { concatBytes } from "../bytes.ts";

const TOTAL_MIB = Number(Deno.args[0] ?? 256);
const RUNS = Number(Deno.args[1] ?? 3);
const WRITE_SIZE = 1024 * 1024;
const CHUNK = 64 * 1024;

function writes(data: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let position = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (position >= data.length) return controller.close();
      controller.enqueue(data.subarray(position, position + size));
      position += size;
    },
  }, { highWaterMark: 0 });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const pieces: Uint8Array[] = [];
  await stream.pipeTo(new WritableStream({ write: (piece) => void pieces.push(piece) }));
  return pieces;
}

function sha256(pieces: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const piece of pieces) hash.update(piece);
  return hash.digest("hex");
}

/** Runs `work` RUNS times; prints and returns the best throughput in MB/s. */
async function measure(label: string, bytes: number, work: () => unknown): Promise<void> {
  let best = Infinity;
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    await work();
    best = Math.min(best, performance.now() - start);
  }
  console.log(`${label.padEnd(44)} ${(bytes / 1e6 / (best / 1000)).toFixed(0).padStart(6)} MB/s`);
}

const plaintext = new Uint8Array(randomBytes(TOTAL_MIB * WRITE_SIZE));
const identity = generateIdentity();
const recipient = recipientFromIdentity(identity);
const key = randomBytes(32);
console.log(`${TOTAL_MIB} MiB in ${WRITE_SIZE / 1024} KiB writes, best of ${RUNS} runs`);

await measure("raw createCipheriv, one per 64 KiB chunk", plaintext.length, () => {
  const nonce = new Uint8Array(12);
  for (let offset = 0, counter = 0; offset < plaintext.length; offset += CHUNK, counter++) {
    new DataView(nonce.buffer).setUint32(7, counter);
    const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
    cipher.update(plaintext.subarray(offset, offset + CHUNK));
    cipher.final();
    cipher.getAuthTag();
  }
});

await measure("raw createCipheriv, one per 1 MiB write", plaintext.length, () => {
  for (let offset = 0; offset < plaintext.length; offset += WRITE_SIZE) {
    const cipher = createCipheriv("chacha20-poly1305", key, new Uint8Array(12), {
      authTagLength: 16,
    });
    cipher.update(plaintext.subarray(offset, offset + WRITE_SIZE));
    cipher.final();
  }
});

const sealedChunks: Uint8Array[] = [];
for (let offset = 0, counter = 0; offset < plaintext.length; offset += CHUNK, counter++) {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setUint32(7, counter);
  const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  cipher.update(plaintext.subarray(offset, offset + CHUNK));
  cipher.final();
  sealedChunks.push(cipher.getAuthTag());
}
await measure("raw createDecipheriv, one per 64 KiB chunk", plaintext.length, () => {
  const nonce = new Uint8Array(12);
  for (let offset = 0, counter = 0; offset < plaintext.length; offset += CHUNK, counter++) {
    new DataView(nonce.buffer).setUint32(7, counter);
    const decipher = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
    decipher.setAuthTag(sealedChunks[counter]);
    decipher.update(plaintext.subarray(offset, offset + CHUNK));
    try {
      decipher.final();
    } catch {
      // The "ciphertext" is the plaintext here, so authentication fails; the work is the same.
    }
  }
});

await measure("age encrypt stream", plaintext.length, async () => {
  await writes(plaintext, WRITE_SIZE).pipeThrough(createEncryptStream([recipient])).pipeTo(
    new WritableStream(),
  );
});

const encrypted = concatBytes(
  await collect(
    writes(plaintext, WRITE_SIZE).pipeThrough(createEncryptStream([recipient])),
  ),
);
await measure("age decrypt stream", plaintext.length, async () => {
  await writes(encrypted, WRITE_SIZE).pipeThrough(createDecryptStream([identity])).pipeTo(
    new WritableStream(),
  );
});

const decrypted = await collect(
  writes(encrypted, WRITE_SIZE).pipeThrough(createDecryptStream([identity])),
);
if (sha256(decrypted) !== sha256([plaintext])) throw new Error("round trip mismatch");
