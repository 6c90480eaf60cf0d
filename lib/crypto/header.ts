/**
 * The age v1 text header: recipient stanzas and the header MAC, encoding, strict parsing, and
 * finding where the header ends in a byte stream.
 */

import { Buffer } from "node:buffer";
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { decodeBase64Unpadded, encodeBase64Unpadded } from "./base64.ts";
import { AgeError } from "./errors.ts";

/** A recipient stanza: its arguments (the first names its type) and its binary body. */
export interface Stanza {
  args: string[];
  body: Uint8Array;
}

/** A parsed header: its stanzas, the bytes the MAC covers, and the MAC itself. */
export interface ParsedHeader {
  stanzas: Stanza[];
  macInput: Uint8Array;
  mac: Uint8Array;
}

/** The first line of every age v1 file. */
export const VERSION_LINE = "age-encryption.org/v1";

/** Headers larger than this are rejected rather than buffered without bound. */
export const MAX_HEADER_SIZE = 16 * 1024 * 1024;

const VERSION_PREFIX = Buffer.from(`${VERSION_LINE}\n`, "latin1");
const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";
const LINE_FEED = 0x0a;
const SCAN_SLICE = 16 * 1024;
const COLUMNS = 64;
const MAC_SIZE = 32;
const ARGUMENT = /^[\x21-\x7e]+$/;
const BASE64_LINE = /^[A-Za-z0-9+/]*$/;

function malformed(detail: string): AgeError {
  return new AgeError(`malformed age header: ${detail}`);
}

function wrapBase64(data: Uint8Array): string {
  const encoded = encodeBase64Unpadded(data);
  let text = "";
  for (let start = 0; start < encoded.length; start += COLUMNS) {
    text += `${encoded.slice(start, start + COLUMNS)}\n`;
  }
  // The body always ends with a line shorter than 64 columns, which may be empty.
  if (encoded.length % COLUMNS === 0) text += "\n";
  return text;
}

/** HMAC-SHA-256 of the header bytes up to and including "---", keyed from the file key. */
export function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Uint8Array {
  const key = new Uint8Array(hkdfSync("sha256", fileKey, new Uint8Array(0), "header", 32));
  return new Uint8Array(createHmac("sha256", key).update(macInput).digest());
}

/** True if `mac` is the header MAC of `header` under `fileKey` (compared in constant time). */
export function verifyHeaderMac(fileKey: Uint8Array, header: ParsedHeader): boolean {
  return timingSafeEqual(headerMac(fileKey, header.macInput), header.mac);
}

/** Encodes a complete header (ending with the MAC line) for `stanzas`, authenticated by `fileKey`. */
export function encodeHeader(stanzas: Stanza[], fileKey: Uint8Array): Uint8Array {
  let text = `${VERSION_LINE}\n`;
  for (const stanza of stanzas) {
    text += `-> ${stanza.args.join(" ")}\n${wrapBase64(stanza.body)}`;
  }
  text += "---";
  const macInput = Buffer.from(text, "latin1");
  const mac = encodeBase64Unpadded(headerMac(fileKey, macInput));
  return new Uint8Array(Buffer.from(`${text} ${mac}\n`, "latin1"));
}

/** Throws AgeError if `start` (the first bytes of a file) cannot begin an age v1 file. */
export function checkVersionPrefix(start: Uint8Array): void {
  const length = Math.min(start.length, VERSION_PREFIX.length);
  if (Buffer.compare(start.subarray(0, length), VERSION_PREFIX.subarray(0, length)) === 0) return;
  const text = Buffer.from(start.subarray(0, 64)).toString("latin1");
  if (ARMOR_BEGIN.startsWith(text.slice(0, ARMOR_BEGIN.length)) && text.startsWith("-----")) {
    throw new AgeError("ASCII-armored age files are not supported; remove the armor first");
  }
  if (text.startsWith("age-encryption.org/") && !text.startsWith(VERSION_LINE)) {
    throw new AgeError("unsupported age format version");
  }
  throw new AgeError("not an age encrypted file (the age-encryption.org/v1 header is missing)");
}

function parseStanzaLine(line: string): string[] {
  const args = line.slice(3).split(" ");
  for (const arg of args) {
    if (!ARGUMENT.test(arg)) throw malformed("invalid stanza argument");
  }
  return args;
}

/**
 * Parses a complete header (from the version line through the MAC line's line feed), strictly
 * per the v1 grammar; throws AgeError if it is malformed.
 */
export function parseHeader(bytes: Uint8Array): ParsedHeader {
  checkVersionPrefix(bytes);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  const lines = text.split("\n");
  if (lines.pop() !== "") throw malformed("missing final line feed");
  let index = 1;
  let offset = lines[0].length + 1;
  const nextLine = (): string => {
    const line = lines[index++];
    if (line === undefined) throw malformed("unexpected end of header");
    offset += line.length + 1;
    return line;
  };
  const stanzas: Stanza[] = [];
  for (;;) {
    const lineOffset = offset;
    const line = nextLine();
    if (line.startsWith("-> ")) {
      const args = parseStanzaLine(line);
      let encodedBody = "";
      for (;;) {
        const bodyLine = nextLine();
        if (bodyLine.length > COLUMNS || !BASE64_LINE.test(bodyLine)) {
          throw malformed("invalid stanza body line");
        }
        encodedBody += bodyLine;
        if (bodyLine.length < COLUMNS) break;
      }
      const body = decodeBase64Unpadded(encodedBody);
      if (body === null) throw malformed("stanza body is not canonical base64");
      stanzas.push({ args, body });
    } else if (line.startsWith("---")) {
      if (index !== lines.length) throw malformed("data after the MAC line");
      if (line[3] !== " ") throw malformed("invalid MAC line");
      const mac = decodeBase64Unpadded(line.slice(4));
      if (mac === null || mac.length !== MAC_SIZE) throw malformed("invalid MAC encoding");
      if (stanzas.length === 0) throw malformed("no recipient stanzas");
      return { stanzas, macInput: bytes.subarray(0, lineOffset + 3), mac };
    } else {
      throw malformed("unexpected line");
    }
  }
}

/**
 * Collects the first bytes of an age file until the header is complete, then hands back the
 * header and whatever followed it. Large chunks are taken in slices, so a chunk holding the whole
 * file is not copied.
 */
export class HeaderAccumulator {
  #buffer = new Uint8Array(4096);
  #length = 0;
  #lineStart = 0;
  #searchFrom = 0;
  #headerEnd = -1;

  /**
   * Adds bytes. Returns null while the header is incomplete; once complete, returns the bytes
   * that followed the header (possibly empty pieces). Throws AgeError on a non-age start.
   */
  push(chunk: Uint8Array): Uint8Array[] | null {
    if (this.#headerEnd >= 0) throw new Error("header already complete");
    for (let position = 0; position < chunk.length;) {
      const slice = chunk.subarray(position, position + SCAN_SLICE);
      position += slice.length;
      this.#append(slice);
      if (this.#scan()) {
        return [this.#buffer.subarray(this.#headerEnd, this.#length), chunk.subarray(position)];
      }
    }
    return null;
  }

  /** The complete header bytes (once push has returned the rest). */
  get header(): Uint8Array {
    return this.#buffer.subarray(0, this.#headerEnd);
  }

  /** Bytes collected so far (for reporting a truncated header). */
  get length(): number {
    return this.#length;
  }

  #scan(): boolean {
    const filled = this.#buffer.subarray(0, this.#length);
    checkVersionPrefix(filled);
    for (;;) {
      const lineFeed = filled.indexOf(LINE_FEED, this.#searchFrom);
      if (lineFeed < 0) break;
      if (this.#isMacLine(this.#lineStart)) {
        this.#headerEnd = lineFeed + 1;
        return true;
      }
      if (this.#lineStart > 0) this.#checkLine(filled.subarray(this.#lineStart, lineFeed));
      this.#lineStart = lineFeed + 1;
      this.#searchFrom = this.#lineStart;
    }
    this.#searchFrom = this.#length;
    if (this.#length > MAX_HEADER_SIZE) throw malformed("header is too large");
    return false;
  }

  /** Rejects early a line that is neither a stanza line nor a body line (parseHeader checks all). */
  #checkLine(line: Uint8Array): void {
    if (line[0] === 0x2d && line[1] === 0x3e && line[2] === 0x20) return;
    const text = Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString("latin1");
    if (text.length > COLUMNS || !BASE64_LINE.test(text)) throw malformed("unexpected line");
  }

  #isMacLine(start: number): boolean {
    const buffer = this.#buffer;
    return buffer[start] === 0x2d && buffer[start + 1] === 0x2d && buffer[start + 2] === 0x2d;
  }

  #append(chunk: Uint8Array): void {
    const needed = this.#length + chunk.length;
    if (needed > this.#buffer.length) {
      let size = this.#buffer.length * 2;
      while (size < needed) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length = needed;
  }
}
