import assert from "node:assert/strict";
import { Bech32Error, decodeBech32, encodeBech32 } from "../../lib/crypto/bech32.ts";

// BIP 173 valid checksums (all have data parts that convert to whole bytes).
const VALID = [
  "A12UEL5L",
  "a12uel5l",
  "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
  "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
  "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
  "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
  "?1ezyfcl",
];

// BIP 173 invalid strings (the length-limit case is left out: age has no length limit).
const INVALID = [
  "\x201nwldj5",
  "\x7f1axkwrx",
  "pzry9x0s0muk",
  "1pzry9x0s0muk",
  "x1b4n0q5v",
  "li1dgmt3",
  "de1lg7wt\xff",
  "A1G7SGD8",
  "10a06t8",
  "1qzzfhee",
];

Deno.test("bech32: BIP 173 valid strings decode and re-encode to themselves", () => {
  for (const text of VALID) {
    const { hrp, data } = decodeBech32(text);
    const upper = text === text.toUpperCase() && text !== text.toLowerCase();
    assert.equal(encodeBech32(hrp, data, upper), text);
  }
});

Deno.test("bech32: BIP 173 invalid strings are rejected", () => {
  for (const text of INVALID) {
    assert.throws(() => decodeBech32(text), Bech32Error, JSON.stringify(text));
  }
});

Deno.test("bech32: mixed case and a flipped character are rejected", () => {
  const text = encodeBech32("age", new Uint8Array(32).fill(7));
  assert.throws(() => decodeBech32(text.slice(0, 10) + text.slice(10).toUpperCase()), /mixed case/);
  const flipped = text.slice(0, 20) + (text[20] === "q" ? "p" : "q") + text.slice(21);
  assert.throws(() => decodeBech32(flipped), /checksum/);
});

Deno.test("bech32: round trips bytes of every length up to 100, beyond the 90-char limit", () => {
  for (let length = 0; length <= 100; length++) {
    const data = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 255);
    const encoded = encodeBech32("age-secret-key-", data, true);
    assert.equal(encoded, encoded.toUpperCase());
    const decoded = decodeBech32(encoded);
    assert.equal(decoded.hrp, "AGE-SECRET-KEY-");
    assert.deepEqual(decoded.data, data);
  }
});

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/** An independent BIP 173 encoder of raw 5-bit words, to build strings with bad padding. */
function encodeWords(hrp: string, words: number[]): string {
  const generators = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  const values = [
    ...[...hrp].map((c) => c.charCodeAt(0) >> 5),
    0,
    ...[...hrp].map((c) => c.charCodeAt(0) & 31),
    ...words,
    0,
    0,
    0,
    0,
    0,
    0,
  ];
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) checksum ^= generators[i];
  }
  checksum ^= 1;
  const all = [...words, ...[0, 1, 2, 3, 4, 5].map((i) => (checksum >>> (5 * (5 - i))) & 31)];
  return `${hrp}1${all.map((w) => CHARSET[w]).join("")}`;
}

Deno.test("bech32: the independent encoder agrees with ours on canonical data", () => {
  // 0xff = 11111111 -> words 11111, 11100.
  assert.equal(encodeWords("a", [31, 28]), encodeBech32("a", Uint8Array.of(0xff)));
});

Deno.test("bech32: non-zero padding bits and excess padding are rejected", () => {
  assert.throws(() => decodeBech32(encodeWords("a", [31, 29])), /padding/);
  assert.throws(() => decodeBech32(encodeWords("a", [31, 28, 0])), /padding/);
});
