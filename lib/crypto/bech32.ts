/**
 * Bech32 (BIP 173) encoding of byte strings, without the 90-character length limit, as the age
 * format uses it for identities and recipients.
 */

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const CHECKSUM_LENGTH = 6;

/** Thrown when a string is not valid Bech32; the message names the problem. */
export class Bech32Error extends Error {
  override name = "Bech32Error";
}

/** A decoded Bech32 string: its human-readable part (in the case it was written) and its data. */
export interface Bech32Decoded {
  hrp: string;
  data: Uint8Array;
}

function polymod(values: number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let bit = 0; bit < 5; bit++) {
      if ((top >>> bit) & 1) checksum ^= GENERATORS[bit];
    }
  }
  return checksum;
}

function expandHrp(hrp: string): number[] {
  const high: number[] = [];
  const low: number[] = [];
  for (let i = 0; i < hrp.length; i++) {
    const code = hrp.charCodeAt(i);
    high.push(code >>> 5);
    low.push(code & 31);
  }
  return [...high, 0, ...low];
}

function createChecksum(hrp: string, words: number[]): number[] {
  const mod = polymod([...expandHrp(hrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum: number[] = [];
  for (let i = 0; i < CHECKSUM_LENGTH; i++) checksum.push((mod >>> (5 * (5 - i))) & 31);
  return checksum;
}

/**
 * Regroups a string of `fromBits`-bit values into `toBits`-bit values (BIP 173's `convertbits`).
 * With `pad`, the last group is filled out with zero bits; without it, the bits left over must be
 * fewer than `fromBits` and all zero (Bech32Error otherwise).
 */
function convertBits(
  values: Iterable<number>,
  fromBits: number,
  toBits: number,
  pad: boolean,
): number[] {
  const out: number[] = [];
  const mask = (1 << toBits) - 1;
  let accumulator = 0;
  let bits = 0;
  for (const value of values) {
    accumulator = ((accumulator << fromBits) | value) & 0xfff;
    bits += fromBits;
    while (bits >= toBits) {
      bits -= toBits;
      out.push((accumulator >>> bits) & mask);
    }
  }
  if (pad) {
    if (bits > 0) out.push((accumulator << (toBits - bits)) & mask);
  } else {
    if (bits >= fromBits) throw new Bech32Error("invalid padding (excess bits)");
    if ((accumulator & ((1 << bits) - 1)) !== 0) {
      throw new Bech32Error("invalid padding (non-zero)");
    }
  }
  return out;
}

function checkHrp(hrp: string): void {
  if (hrp.length === 0) throw new Bech32Error("empty human-readable part");
  for (let i = 0; i < hrp.length; i++) {
    const code = hrp.charCodeAt(i);
    if (code < 33 || code > 126) throw new Bech32Error("invalid character in human-readable part");
  }
}

/** Encodes `data` with the human-readable part `hrp`; lower case unless `upperCase` is set. */
export function encodeBech32(hrp: string, data: Uint8Array, upperCase = false): string {
  checkHrp(hrp);
  if (hrp !== hrp.toLowerCase() && hrp !== hrp.toUpperCase()) {
    throw new Bech32Error("mixed-case human-readable part");
  }
  const lowerHrp = hrp.toLowerCase();
  const words = convertBits(data, 8, 5, true);
  const all = [...words, ...createChecksum(lowerHrp, words)];
  let encoded = `${lowerHrp}1`;
  for (const word of all) encoded += CHARSET[word];
  return upperCase ? encoded.toUpperCase() : encoded;
}

/** Decodes a Bech32 string (all lower or all upper case); throws Bech32Error if it is invalid. */
export function decodeBech32(text: string): Bech32Decoded {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 33 || code > 126) throw new Bech32Error("invalid character");
  }
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase()) throw new Bech32Error("mixed case");
  const separator = text.lastIndexOf("1");
  if (separator < 0) throw new Bech32Error("missing separator '1'");
  if (separator === 0) throw new Bech32Error("empty human-readable part");
  if (separator + 1 + CHECKSUM_LENGTH > text.length) throw new Bech32Error("too short");
  const hrp = text.slice(0, separator);
  checkHrp(hrp);
  const words: number[] = [];
  for (let i = separator + 1; i < lower.length; i++) {
    const word = CHARSET.indexOf(lower[i]);
    if (word < 0) throw new Bech32Error("invalid character in data part");
    words.push(word);
  }
  if (polymod([...expandHrp(hrp.toLowerCase()), ...words]) !== 1) {
    throw new Bech32Error("invalid checksum");
  }
  return { hrp, data: Uint8Array.from(convertBits(words.slice(0, -CHECKSUM_LENGTH), 5, 8, false)) };
}
