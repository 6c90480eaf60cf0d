import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import {
  AgeError,
  createDecryptStream,
  createEncryptStream,
  generateIdentity,
  parseIdentityFile,
  recipientFromIdentity,
  validateRecipient,
} from "../../lib/crypto/age.ts";
import { seal } from "../../lib/crypto/aead.ts";
import { encodeBech32 } from "../../lib/crypto/bech32.ts";
import { encodeHeader, type Stanza } from "../../lib/crypto/header.ts";
import { ChunkCutter, ChunkNonces, derivePayloadKey } from "../../lib/crypto/payload.ts";
import { parseX25519Recipient, wrapFileKey } from "../../lib/crypto/x25519.ts";
import {
  decryptBytes,
  encryptBytes,
  readAll,
  readUntilError,
  testBytes,
  tryDecrypt,
  wholeStream,
} from "./age_test_helpers.ts";
import { concatBytes } from "../../testing/bytes.ts";

const CHUNK = 64 * 1024;
const SEALED = CHUNK + 16;
const KIB_64 = CHUNK;

const identity = generateIdentity();
const recipient = recipientFromIdentity(identity);

/** Offset of the payload (after the header line "--- MAC\n"). */
function payloadStart(file: Uint8Array): number {
  const text = Buffer.from(file.subarray(0, 4096)).toString("latin1");
  const mac = text.indexOf("\n--- ");
  return text.indexOf("\n", mac + 1) + 1;
}

/** Expected payload size for a plaintext of `size` bytes: nonce plus tagged chunks. */
function expectedPayloadSize(size: number): number {
  const chunks = Math.max(1, Math.ceil(size / CHUNK));
  return 16 + size + 16 * chunks;
}

async function expectAgeError(
  outcome: Promise<{ output: Uint8Array; error: unknown }>,
  pattern: RegExp,
): Promise<Uint8Array> {
  const { output, error } = await outcome;
  assert.ok(error instanceof AgeError, `expected an AgeError, got ${error}`);
  assert.match(error.message, pattern);
  assert.ok(!error.message.includes("\n"), "message is one line");
  return output;
}

interface CustomChunk {
  plaintext: Uint8Array;
  last: boolean;
}

/** Builds an age file by hand, to check how the decryptor treats unusual but possible layouts. */
function buildFile(extraStanzas: Stanza[], chunks: CustomChunk[], to = recipient): Uint8Array {
  const fileKey = randomBytes(16);
  const stanzas = [...extraStanzas, wrapFileKey(fileKey, parseX25519Recipient(to))];
  const nonce = randomBytes(16);
  const key = derivePayloadKey(fileKey, nonce);
  const nonces = new ChunkNonces();
  const sealed = chunks.map(({ plaintext, last }) => {
    const out = seal(key, nonces.current(last), plaintext);
    nonces.advance();
    return out;
  });
  return concatBytes([encodeHeader(stanzas, fileKey), nonce, ...sealed]);
}

for (const size of [0, 1, KIB_64 - 1, KIB_64, KIB_64 + 1, 3 * KIB_64, 1024 * 1024 + 7]) {
  Deno.test(`age: round trip of ${size} bytes fed in random piece sizes`, async () => {
    for (const seed of [1, 2, 3]) {
      const plaintext = testBytes(size, seed);
      const encrypted = await encryptBytes(plaintext, [recipient], seed * 17);
      const start = payloadStart(encrypted);
      assert.equal(encrypted.length - start, expectedPayloadSize(size));
      const decrypted = await decryptBytes(encrypted, [identity], seed * 31);
      assert.deepEqual(decrypted, plaintext);
    }
  });
}

Deno.test("age: whole-input and 1-byte feeding give the same plaintext", async () => {
  const plaintext = testBytes(2 * KIB_64 + 5);
  const encrypted = await readAll(
    wholeStream(plaintext).pipeThrough(createEncryptStream([recipient])),
  );
  assert.deepEqual(
    await readAll(wholeStream(encrypted).pipeThrough(createDecryptStream([identity]))),
    plaintext,
  );
  const bytewise = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const byte of encrypted) controller.enqueue(Uint8Array.of(byte));
      controller.close();
    },
  });
  assert.deepEqual(await readAll(bytewise.pipeThrough(createDecryptStream([identity]))), plaintext);
});

Deno.test("age: header layout follows the spec", async () => {
  const other = recipientFromIdentity(generateIdentity());
  const encrypted = await encryptBytes(new Uint8Array(0), [recipient, other]);
  const text = Buffer.from(encrypted.subarray(0, payloadStart(encrypted))).toString("latin1");
  const lines = text.split("\n");
  assert.equal(lines[0], "age-encryption.org/v1");
  for (const index of [1, 3]) {
    assert.match(lines[index], /^-> X25519 [A-Za-z0-9+/]{43}$/);
    assert.match(lines[index + 1], /^[A-Za-z0-9+/]{43}$/);
  }
  assert.match(lines[5], /^--- [A-Za-z0-9+/]{43}$/);
  assert.equal(lines[6], "");
  // An empty plaintext is one empty final chunk: nonce plus a bare tag.
  assert.equal(encrypted.length - payloadStart(encrypted), 32);
});

Deno.test("age: two files of the same plaintext differ (fresh file key and nonce)", async () => {
  const plaintext = testBytes(100);
  const first = await encryptBytes(plaintext, [recipient]);
  const second = await encryptBytes(plaintext, [recipient]);
  assert.notDeepEqual(first, second);
});

Deno.test("age: multiple recipients can each decrypt", async () => {
  const identities = [generateIdentity(), generateIdentity(), generateIdentity()];
  const plaintext = testBytes(KIB_64 * 2 + 9);
  const encrypted = await encryptBytes(plaintext, identities.map(recipientFromIdentity));
  for (const each of identities) assert.deepEqual(await decryptBytes(encrypted, [each]), plaintext);
  // Any one matching identity among several non-matching ones suffices.
  assert.deepEqual(
    await decryptBytes(encrypted, [generateIdentity(), identities[2], generateIdentity()]),
    plaintext,
  );
});

Deno.test("age: a wrong identity is rejected with a clear message", async () => {
  const encrypted = await encryptBytes(testBytes(1000), [recipient]);
  const output = await expectAgeError(
    tryDecrypt(encrypted, [generateIdentity()]),
    /no identity matches/,
  );
  assert.equal(output.length, 0);
});

Deno.test("age: a tampered payload chunk is rejected and its plaintext never emitted", async () => {
  const plaintext = testBytes(3 * KIB_64 + 100);
  const encrypted = await encryptBytes(plaintext, [recipient]);
  const tampered = encrypted.slice();
  const chunk1 = payloadStart(encrypted) + 16 + SEALED;
  tampered[chunk1 + 1000] ^= 1;
  const output = await expectAgeError(tryDecrypt(tampered, [identity]), /chunk 1 failed/);
  // Only chunk 0 may have come out, and only intact.
  assert.ok(output.length <= KIB_64);
  assert.deepEqual(output, plaintext.subarray(0, output.length));

  const tag = encrypted.slice();
  tag[encrypted.length - 1] ^= 0x80;
  await expectAgeError(tryDecrypt(tag, [identity]), /chunk 3 failed/);

  const nonce = encrypted.slice();
  nonce[payloadStart(encrypted)] ^= 1;
  await expectAgeError(tryDecrypt(nonce, [identity]), /chunk 0 failed/);
});

Deno.test("age: a tampered header is rejected by the MAC", async () => {
  const encrypted = await encryptBytes(testBytes(500), [recipient]);
  const start = payloadStart(encrypted);
  const header = Buffer.from(encrypted.subarray(0, start)).toString("latin1");

  // A different (valid) MAC value.
  const macAt = header.indexOf("--- ") + 4;
  const flipped = encrypted.slice();
  flipped[macAt] = flipped[macAt] === 0x41 ? 0x42 : 0x41;
  await expectAgeError(tryDecrypt(flipped, [identity]), /MAC mismatch/);

  // An extra stanza slipped in: the stanza still unwraps, but the MAC no longer matches.
  const injected = header.replace("\n--- ", "\n-> grease x\nAAAA\n--- ");
  const withStanza = concatBytes([Buffer.from(injected, "latin1"), encrypted.subarray(start)]);
  await expectAgeError(tryDecrypt(withStanza, [identity]), /MAC mismatch/);
});

Deno.test("age: truncated files are rejected", async () => {
  const plaintext = testBytes(3 * KIB_64 + 100);
  const encrypted = await encryptBytes(plaintext, [recipient]);
  const start = payloadStart(encrypted);
  // The last chunk dropped: ends exactly after a non-final chunk.
  const dropLast = encrypted.subarray(0, encrypted.length - (100 + 16));
  const output = await expectAgeError(tryDecrypt(dropLast, [identity]), /truncated/);
  assert.deepEqual(output, plaintext.subarray(0, output.length));
  // Cut inside the last chunk, inside a full chunk, in the nonce, in the header, and empty.
  await expectAgeError(
    tryDecrypt(encrypted.subarray(0, encrypted.length - 1), [identity]),
    /failed/,
  );
  await expectAgeError(tryDecrypt(encrypted.subarray(0, start + 16 + 1000), [identity]), /failed/);
  await expectAgeError(tryDecrypt(encrypted.subarray(0, start + 5), [identity]), /truncated/);
  await expectAgeError(tryDecrypt(encrypted.subarray(0, start - 10), [identity]), /truncated/);
  await expectAgeError(tryDecrypt(new Uint8Array(0), [identity]), /empty input/);

  // A file of exactly two full chunks, cut after the first one.
  const twoFull = await encryptBytes(testBytes(2 * KIB_64), [recipient]);
  const cut = twoFull.subarray(0, payloadStart(twoFull) + 16 + SEALED);
  await expectAgeError(tryDecrypt(cut, [identity]), /truncated \(the final chunk is missing\)/);
});

Deno.test("age: trailing data is rejected", async () => {
  // After a full-size final chunk: detected precisely.
  const full = await encryptBytes(testBytes(2 * KIB_64), [recipient]);
  for (const garbage of [Uint8Array.of(0), testBytes(100), testBytes(SEALED + 5)]) {
    await expectAgeError(tryDecrypt(concatBytes([full, garbage]), [identity]), /trailing data/);
  }
  // After a short final chunk: the final chunk no longer authenticates.
  const short = await encryptBytes(testBytes(KIB_64 + 10), [recipient]);
  await expectAgeError(tryDecrypt(concatBytes([short, testBytes(7)]), [identity]), /failed/);
  await expectAgeError(
    tryDecrypt(concatBytes([short, testBytes(2 * SEALED)]), [identity]),
    /trailing data|failed/,
  );
  // A second complete file appended.
  const twice = concatBytes([short, short]);
  await expectAgeError(tryDecrypt(twice, [identity]), /trailing data|failed/);
});

Deno.test("age: a full-size final chunk is used only for a multiple of 64 KiB", async () => {
  const encrypted = await encryptBytes(testBytes(KIB_64), [recipient]);
  assert.equal(encrypted.length - payloadStart(encrypted), 16 + SEALED);
  // Built by hand: the same data as a full non-final chunk plus an empty final chunk is invalid.
  const plaintext = testBytes(KIB_64);
  const withEmptyFinal = buildFile([], [
    { plaintext, last: false },
    { plaintext: new Uint8Array(0), last: true },
  ]);
  await expectAgeError(tryDecrypt(withEmptyFinal, [identity]), /empty final chunk/);
  // A short chunk that is not flagged final is invalid.
  const unflagged = buildFile([], [{ plaintext: testBytes(10), last: false }]);
  await expectAgeError(tryDecrypt(unflagged, [identity]), /failed/);
  // A final chunk followed by another chunk is invalid.
  const afterFinal = buildFile([], [
    { plaintext, last: true },
    { plaintext: testBytes(5), last: true },
  ]);
  await expectAgeError(tryDecrypt(afterFinal, [identity]), /trailing data/);
  // The valid hand-built layouts decrypt.
  const valid = buildFile([], [{ plaintext, last: false }, {
    plaintext: testBytes(3),
    last: true,
  }]);
  assert.deepEqual(await decryptBytes(valid, [identity]), concatBytes([plaintext, testBytes(3)]));
});

Deno.test("age: unknown stanzas are skipped when an X25519 stanza matches", async () => {
  const grease: Stanza[] = [
    { args: ["grease-!#", "x", "y"], body: testBytes(48) },
    { args: ["example.com/enigma"], body: new Uint8Array(0) },
  ];
  const file = buildFile(grease, [{ plaintext: testBytes(20), last: true }]);
  assert.deepEqual(await decryptBytes(file, [identity]), testBytes(20));
  // 48 bytes encode to exactly 64 columns, so that body ends with an empty line.
  assert.match(Buffer.from(file).toString("latin1"), /\n[A-Za-z0-9+/]{64}\n\n-> example/);
});

Deno.test("age: scrypt and non-X25519 files are rejected clearly", async () => {
  const scryptOnly = buildFile([], [{ plaintext: testBytes(3), last: true }]);
  const text = Buffer.from(scryptOnly).toString("latin1");
  const header = text.slice(0, payloadStart(scryptOnly));
  const scryptHeader = header.replace(
    /-> X25519 \S+\n\S+\n/,
    "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 10\nAAAA\n",
  );
  const scryptFile = concatBytes([Buffer.from(scryptHeader, "latin1"), new Uint8Array(48)]);
  await expectAgeError(tryDecrypt(scryptFile, [identity]), /passphrase-encrypted/);
  const mixed = header.replace("\n--- ", "\n-> scrypt AAAAAAAAAAAAAAAAAAAAAA 10\nAAAA\n--- ");
  await expectAgeError(
    tryDecrypt(concatBytes([Buffer.from(mixed, "latin1"), new Uint8Array(48)]), [identity]),
    /scrypt stanza must be the only stanza/,
  );
  const onlyOther = header.replace(/-> X25519 \S+\n\S+\n/, "-> ssh-ed25519 abc def\nAAAA\n");
  await expectAgeError(
    tryDecrypt(concatBytes([Buffer.from(onlyOther, "latin1"), new Uint8Array(48)]), [identity]),
    /not encrypted to any X25519 recipient/,
  );
});

Deno.test("age: malformed headers are rejected", async () => {
  const encrypted = await encryptBytes(testBytes(10), [recipient]);
  const start = payloadStart(encrypted);
  const header = Buffer.from(encrypted.subarray(0, start)).toString("latin1");
  const payload = encrypted.subarray(start);
  const withHeader = (text: string) => concatBytes([Buffer.from(text, "latin1"), payload]);
  const lines = header.split("\n");
  const share = lines[1].slice("-> X25519 ".length);
  const body = lines[2];
  const mac = lines[3].slice(4);
  // Non-canonical base64: same bytes, but the unused low bits of the last character set.
  const nonCanonical = (b64: string) => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const last = alphabet.indexOf(b64[b64.length - 1]);
    return b64.slice(0, -1) + alphabet[last | 1];
  };
  const cases: [string, RegExp][] = [
    [header.replace(share, nonCanonical(share)), /invalid X25519 ephemeral share/],
    [header.replace(body, nonCanonical(body)), /not canonical base64/],
    [header.replace(mac, nonCanonical(mac)), /invalid MAC encoding/],
    [header.replace(mac, `${mac}=`), /invalid MAC encoding/],
    [
      header.replace(body, `${body}=`),
      /malformed age header: (invalid stanza body|unexpected) line/,
    ],
    [header.replace("-> X25519 ", "-> X25519  "), /invalid stanza argument/],
    [header.replace("-> X25519 ", "->  X25519 "), /invalid stanza argument/],
    [header.replace(/\n/g, "\r\n"), /not an age encrypted file/],
    [
      header.replace(`${body}\n`, `${body}\r\n`),
      /malformed age header: (invalid stanza body|unexpected) line/,
    ],
    [header.replace(`${share}\n`, `${share} extra\n`), /exactly one argument/],
    [header.replace("\n--- ", "\n---"), /invalid MAC line/],
    [header.replace(/-> X25519 \S+\n\S+\n/, ""), /no recipient stanzas/],
    [header.replace("\n--- ", "\n- ---"), /unexpected line/],
    [header.replace("age-encryption.org/v1", "age-encryption.org/v2"), /unsupported age format/],
    ["-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n", /ASCII-armored/],
    ["hello world, this is not age\n", /not an age encrypted file/],
  ];
  for (const [text, pattern] of cases) {
    await expectAgeError(tryDecrypt(withHeader(text), [identity]), pattern);
  }
  // A body that is not exactly 32 bytes: 33 bytes of base64.
  const longBody = header.replace(
    `\n${body}\n`,
    `\n${Buffer.from(testBytes(33)).toString("base64")}\n`,
  );
  await expectAgeError(tryDecrypt(withHeader(longBody), [identity]), /wrong length/);
});

Deno.test("age: an all-zero (low-order) ephemeral share is rejected", async () => {
  const encrypted = await encryptBytes(testBytes(10), [recipient]);
  const start = payloadStart(encrypted);
  const header = Buffer.from(encrypted.subarray(0, start)).toString("latin1");
  const zeroShare = "A".repeat(43);
  const changed = header.replace(/-> X25519 \S+/, `-> X25519 ${zeroShare}`);
  const file = concatBytes([Buffer.from(changed, "latin1"), encrypted.subarray(start)]);
  await expectAgeError(tryDecrypt(file, [identity]), /low-order/);
});

Deno.test("age: identities and recipients", () => {
  // The X25519 example of the spec.
  assert.equal(
    recipientFromIdentity(
      "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
    ),
    "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj",
  );
  const fresh = generateIdentity();
  assert.match(fresh, /^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$/);
  assert.notEqual(fresh, generateIdentity());
  validateRecipient(recipientFromIdentity(fresh));

  const badIdentities = [
    fresh.toLowerCase(),
    fresh.slice(0, -1) + (fresh.endsWith("Q") ? "P" : "Q"),
    "AGE-SECRET-KEY-1",
    "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj",
    encodeBech32("AGE-SECRET-KEY-", new Uint8Array(31), true),
  ];
  for (const bad of badIdentities) {
    assert.throws(() => recipientFromIdentity(bad), (error: unknown) => {
      assert.ok(error instanceof AgeError);
      const secretPart = bad.slice(16, 40);
      if (secretPart) assert.ok(!error.message.includes(secretPart), "never echoes the key");
      return true;
    });
  }
  assert.throws(() => createDecryptStream([badIdentities[1]]), AgeError);
  assert.throws(() => createDecryptStream([]), AgeError);

  const good = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
  const badRecipients: [string, RegExp][] = [
    [good.slice(0, -1) + "q", /checksum/],
    [good.toUpperCase(), /lower case/],
    ["age1" + good.slice(4, 20).toUpperCase() + good.slice(20), /mixed case/],
    [fresh, /secret key/],
    [encodeBech32("age", new Uint8Array(31)), /wrong key length/],
    [encodeBech32("age", new Uint8Array(32)), /not a usable X25519 key/],
    [encodeBech32("age1pq", new Uint8Array(64)), /not supported/],
    ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA", /SSH/],
    ["", /empty/],
    ["bogus", /invalid age recipient/],
  ];
  for (const [bad, pattern] of badRecipients) {
    assert.throws(() => validateRecipient(bad), (error: unknown) => {
      assert.ok(error instanceof AgeError);
      assert.match(error.message, pattern);
      if (bad.startsWith("AGE-SECRET")) assert.ok(!error.message.includes(bad));
      return true;
    });
  }
  assert.throws(() => createEncryptStream([good, "bogus"]), AgeError);
  assert.throws(() => createEncryptStream([]), AgeError);
});

Deno.test("age: identity files", () => {
  const second = generateIdentity();
  const text = [
    "\uFEFF# created: 2024-01-01T00:00:00Z",
    `# public key: ${recipient}`,
    identity,
    "",
    "   ",
    `${second}\r`,
    "",
  ].join("\n");
  assert.deepEqual(parseIdentityFile(text), [identity, second]);
  assert.throws(() => parseIdentityFile("# only a comment\n\n"), /no identities found/);
  assert.throws(() => parseIdentityFile(""), /no identities found/);
  assert.throws(
    () => parseIdentityFile(`${identity}\n${recipient}\n`),
    (error: unknown) => error instanceof AgeError && /line 2/.test(error.message),
  );
  assert.throws(() => parseIdentityFile("AGE-PLUGIN-YUBIKEY-1QQQ\n"), /plugin identities/);
  assert.throws(
    () => parseIdentityFile(`${identity.slice(0, -2)}\n`),
    (error: unknown) =>
      error instanceof AgeError && !error.message.includes(identity.slice(16, 40)),
  );
});

Deno.test("age: the encrypt stream keeps its own copy of partially filled input", async () => {
  // Reusing one input buffer for every write must not corrupt the output.
  const plaintext = testBytes(5 * KIB_64 + 123);
  const buffer = new Uint8Array(1000);
  let position = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (position >= plaintext.length) return controller.close();
      const piece = plaintext.subarray(position, position + buffer.length);
      buffer.set(piece);
      controller.enqueue(buffer.subarray(0, piece.length));
      position += piece.length;
    },
  }, { highWaterMark: 0 });
  const encrypted = await readAll(source.pipeThrough(createEncryptStream([recipient])));
  assert.deepEqual(await decryptBytes(encrypted, [identity]), plaintext);
});

Deno.test("age: a failing decrypt stream errors its readable side for pipeTo users", async () => {
  const encrypted = await encryptBytes(testBytes(100), [recipient]);
  const outcome = await readUntilError(
    wholeStream(encrypted).pipeThrough(createDecryptStream([generateIdentity()])),
  );
  assert.ok(outcome.error instanceof AgeError);
  await assert.rejects(
    wholeStream(encrypted).pipeThrough(createDecryptStream([generateIdentity()])).pipeTo(
      new WritableStream(),
    ),
    AgeError,
  );
});

Deno.test("age: non-age input is rejected as soon as it is seen, without waiting for the end", async () => {
  for (const start of ["PK\x03\x04 zip file", "age-encryption.org/v1\nnot a stanza line!\n"]) {
    // The source never closes: only an early rejection can end this read.
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(Buffer.from(start, "latin1"));
      },
    });
    const reader = source.pipeThrough(createDecryptStream([identity])).getReader();
    await assert.rejects(reader.read(), AgeError);
  }
});

Deno.test("ChunkCutter: middle chunks go on in order as they come, the last full one is held back", () => {
  const seen: number[][] = [];
  const cutter = new ChunkCutter(4, (chunk) => seen.push([...chunk]));
  const bytes = Uint8Array.from({ length: 12 }, (_, i) => i);
  // Pieces of 3, 1, 7 and 1 bytes: chunks cut across them, and straight from the third.
  for (const [from, to] of [[0, 3], [3, 4], [4, 11], [11, 12]]) {
    cutter.push(bytes.subarray(from, to));
  }
  assert.deepEqual(seen, [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.deepEqual([...cutter.held], [8, 9, 10, 11], "a full last chunk waits");
  cutter.push(Uint8Array.of(12), 0);
  assert.deepEqual(seen.at(-1), [8, 9, 10, 11], "more input lets it go");
  assert.deepEqual([...cutter.held], [12]);
  const skipping = new ChunkCutter(4, () => {});
  skipping.push(Uint8Array.of(9, 9, 1, 2), 2);
  assert.deepEqual([...skipping.held], [1, 2], "input before `position` is left out");
});
