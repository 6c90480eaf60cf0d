/**
 * A streaming TAR parser: ustar, pax ('x' records; 'g' global headers are skipped), GNU long
 * names ('L'/'K') and GNU base-256 numbers. Member bodies are handed out as streams of subarrays
 * of the input chunks, never buffered whole.
 */
import type { TarEntry } from "./tar_header.ts";

/** One member as read from an archive. */
export type TarReadEntry = Omit<TarEntry, "type"> & {
  type: "file" | "directory" | "symlink" | "hardlink" | "other";
};

/** Thrown on a malformed archive (bad checksum, truncated member, bad pax record); one-line message. */
export class TarFormatError extends Error {
  override name = "TarFormatError";
}

const BLOCK = 512;
/** Largest pax extended header or GNU long name accepted (protects memory from a corrupt size). */
const MAX_METADATA_BYTES = 16 << 20;

/** One member of an archive: its header, and its body as a stream or read whole. */
export interface TarMember {
  entry: TarReadEntry;
  /** The body as a stream (made on first use: a member read whole or skipped needs none). */
  readonly body: ReadableStream<Uint8Array>;
  /**
   * The whole body in one array (a view of the input when it lies in one chunk), read without a
   * stream: for small members. Use it or `body`, not both.
   */
  readWhole(): Promise<Uint8Array>;
  /**
   * The whole body at once when the input chunk at hand holds all of it (a view of that chunk),
   * else undefined, with nothing read: then use `readWhole`. Spares a small member's promises.
   */
  wholeNow(): Uint8Array | undefined;
}

/**
 * Yields each member with a body stream of exactly entry.size bytes. The consumer must read the
 * body to its end or cancel it before asking for the next entry (if it does neither, the reader
 * skips the rest itself). Stops at the end-of-archive blocks (or clean EOF at a block boundary);
 * trailing data after the end blocks is ignored.
 */
export async function* readTar(
  input: ReadableStream<Uint8Array>,
): AsyncGenerator<TarMember> {
  const source = new ChunkReader(input.getReader());
  const names = new NameCache();
  let finished = false;
  try {
    /** The pax records for the next member (made only when an archive has any). */
    let pax: Map<string, string> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    let pendingPadding = 0;
    for (;;) {
      // The next header is most often in the chunk at hand: take it without a promise.
      if (!source.skipNow(pendingPadding)) await source.skip(pendingPadding, "member padding");
      pendingPadding = 0;
      const block = source.readNow(BLOCK) ?? await source.read(BLOCK);
      if (block.length === 0 || isZeroBlock(block)) {
        if (pax !== undefined || longName !== undefined || longLink !== undefined) {
          throw new TarFormatError("Malformed TAR archive: it ends after an extended header");
        }
        if (block.length !== 0) await source.drain();
        finished = true;
        return;
      }
      if (block.length < BLOCK) throw truncated();
      verifyChecksum(block);
      const typeflag = block[156];
      const fieldSize = readSize(block);

      if (typeflag === X || typeflag === G || typeflag === L || typeflag === K) {
        if (fieldSize > MAX_METADATA_BYTES) {
          throw new TarFormatError(`Malformed TAR archive: extended header of ${fieldSize} bytes`);
        }
        const data = copy(await source.read(fieldSize));
        if (data.length < fieldSize) throw truncated();
        pendingPadding = padding(fieldSize);
        if (typeflag === X) {
          pax ??= new Map();
          for (const [key, value] of parsePaxRecords(data)) pax.set(key, value);
        } else if (typeflag === L) longName = cString(data, 0, data.length);
        else if (typeflag === K) longLink = cString(data, 0, data.length);
        continue;
      }

      const header = parseHeader(block, names);
      const entry = buildEntry(typeflag, header, fieldSize, pax ?? NO_PAX, longName, longLink);
      pax = longName = longLink = undefined;
      if (HEADER_ONLY_TYPES.has(typeflag)) entry.size = 0;
      const member = new Member(entry, source);
      yield member;
      const finishing = member.finish();
      if (finishing) await finishing;
      pendingPadding = padding(entry.size);
    }
  } finally {
    if (!finished) await source.cancel();
  }
}

const X = 0x78, G = 0x67, L = 0x4c, K = 0x4b;
const NO_PAX: ReadonlyMap<string, string> = new Map();
/** Type flags whose members carry no data whatever their size field says (as in Go's archive/tar). */
const HEADER_ONLY_TYPES = new Set([0x31, 0x32, 0x33, 0x34, 0x35, 0x36]);

interface RawHeader {
  name: string;
  linkName: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  uname: string;
  gname: string;
}

function parseHeader(block: Uint8Array, names: NameCache): RawHeader {
  const posixUstar = block[257] === 0x75 && block[262] === 0 && block[263] === 0x30; // "ustar\0" "0"
  let name = cString(block, 0, 100);
  if (posixUstar && block[345] !== 0) name = cString(block, 345, 155) + "/" + name;
  return {
    name,
    linkName: cString(block, 157, 100),
    mode: readNumber(block, 100, 8, "mode") & 0o7777,
    uid: readNumber(block, 108, 8, "uid"),
    gid: readNumber(block, 116, 8, "gid"),
    mtime: readNumber(block, 136, 12, "mtime"),
    uname: names.uname(block),
    gname: names.gname(block),
  };
}

/**
 * The owner and group names of headers, decoded again only when they differ from the last
 * header's (an archive mostly repeats one or two).
 */
class NameCache {
  #uname = new Uint8Array(32);
  #unameText = "";
  #gname = new Uint8Array(32);
  #gnameText = "";

  uname(block: Uint8Array): string {
    if (!sameBytes(block, 265, this.#uname)) {
      this.#uname.set(block.subarray(265, 297));
      this.#unameText = cString(block, 265, 32);
    }
    return this.#unameText;
  }

  gname(block: Uint8Array): string {
    if (!sameBytes(block, 297, this.#gname)) {
      this.#gname.set(block.subarray(297, 329));
      this.#gnameText = cString(block, 297, 32);
    }
    return this.#gnameText;
  }
}

/** Whether the field at `offset` reads as `last` does: the same bytes up to a NUL in both. */
function sameBytes(block: Uint8Array, offset: number, last: Uint8Array): boolean {
  for (let i = 0; i < last.length; i++) {
    const byte = block[offset + i];
    if (byte !== last[i]) return false;
    if (byte === 0) return true;
  }
  return true;
}

function buildEntry(
  typeflag: number,
  header: RawHeader,
  fieldSize: number,
  pax: ReadonlyMap<string, string>,
  longName: string | undefined,
  longLink: string | undefined,
): TarReadEntry {
  let path = pax.get("path") || longName || header.name;
  const linkName = pax.get("linkpath") || longLink || header.linkName;
  let type: TarReadEntry["type"];
  if (typeflag === 0x30 || typeflag === 0 || typeflag === 0x37) {
    type = path.endsWith("/") ? "directory" : "file"; // old archives mark folders with a '/' only
  } else if (typeflag === 0x35) type = "directory";
  else if (typeflag === 0x32) type = "symlink";
  else if (typeflag === 0x31) type = "hardlink";
  else type = "other";
  if (type === "directory") path = stripTrailingSlashes(path);
  const entry: TarReadEntry = {
    path,
    type,
    size: paxInteger(pax, "size") ?? fieldSize,
    mode: header.mode,
    mtime: paxTime(pax) ?? header.mtime,
    uid: paxInteger(pax, "uid") ?? header.uid,
    gid: paxInteger(pax, "gid") ?? header.gid,
  };
  if ((type === "symlink" || type === "hardlink") && linkName !== "") entry.linkName = linkName;
  const uname = pax.get("uname") || header.uname;
  const gname = pax.get("gname") || header.gname;
  if (uname) entry.uname = uname;
  if (gname) entry.gname = gname;
  return entry;
}

function stripTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
  return end === 1 && path === "/" ? "" : path.slice(0, end);
}

function paxInteger(pax: ReadonlyMap<string, string>, key: string): number | undefined {
  const text = pax.get(key);
  if (!text) return undefined;
  if (!/^\d+$/.test(text)) {
    throw new TarFormatError(`Malformed TAR archive: bad pax ${key} ${quoted(text)}`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new TarFormatError(`Malformed TAR archive: pax ${key} ${quoted(text)} is too large`);
  }
  return value;
}

function paxTime(pax: ReadonlyMap<string, string>): number | undefined {
  const text = pax.get("mtime");
  if (!text) return undefined;
  const match = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (!match) throw new TarFormatError(`Malformed TAR archive: bad pax mtime ${quoted(text)}`);
  const seconds = Number(match[2]);
  if (!Number.isSafeInteger(seconds)) {
    throw new TarFormatError(`Malformed TAR archive: pax mtime ${quoted(text)} is out of range`);
  }
  const fractional = /[1-9]/.test(match[3] ?? "");
  if (match[1] === "") return seconds;
  return -seconds - (fractional ? 1 : 0); // floor of a negative time with a fraction
}

/**
 * A value from the archive as it may appear in a one-line message: in double quotes, with control
 * characters (newlines, terminal escapes) escaped, and cut short if long.
 */
function quoted(text: string): string {
  return JSON.stringify(text.length > 40 ? text.slice(0, 40) + "..." : text);
}

/** Parses "%d key=value\n" records; later records override earlier ones. */
function parsePaxRecords(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    if (data[offset] === 0) break; // some writers pad the data with NULs
    let cursor = offset;
    let length = 0;
    while (cursor < data.length && data[cursor] >= 0x30 && data[cursor] <= 0x39) {
      length = length * 10 + data[cursor] - 0x30;
      cursor++;
    }
    const end = offset + length;
    if (
      cursor === offset || data[cursor] !== 0x20 || end > data.length || end <= cursor + 1 ||
      data[end - 1] !== 0x0a
    ) {
      throw new TarFormatError("Malformed TAR archive: bad pax extended header record");
    }
    const equals = data.indexOf(0x3d, cursor + 1);
    if (equals < 0 || equals >= end - 1 || equals === cursor + 1) {
      throw new TarFormatError("Malformed TAR archive: bad pax extended header record");
    }
    const key = decoder.decode(data.subarray(cursor + 1, equals));
    records.set(key, decoder.decode(data.subarray(equals + 1, end - 1)));
    offset = end;
  }
  return records;
}

/**
 * Checks a header's checksum: the sum of its bytes with the checksum field as eight spaces, as
 * unsigned bytes (POSIX) or signed ones (some old tars), where a byte of 0x80 or more counts 256
 * less. One plain pass over the block (2.3x faster than a test per byte: 300,000 headers a
 * restore of many small files reads).
 */
function verifyChecksum(block: Uint8Array) {
  const expected = readOctal(block, 148, 8);
  let unsigned = 0;
  let high = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = block[i];
    unsigned += byte;
    high += byte >>> 7;
  }
  for (let i = 148; i < 156; i++) {
    const byte = block[i];
    unsigned += 0x20 - byte;
    high -= byte >>> 7;
  }
  const signed = unsigned - 0x100 * high;
  if (expected !== unsigned && expected !== signed) {
    throw new TarFormatError("Malformed TAR archive: header checksum mismatch");
  }
}

/**
 * The size field. GNU base-256 can encode a negative number, which would move the reader backwards
 * (a size of -512 makes it read the same header for ever): any negative size is a format error.
 */
function readSize(block: Uint8Array): number {
  const size = readNumber(block, 124, 12, "size");
  if (size < 0) throw new TarFormatError(`Malformed TAR archive: negative size ${size}`);
  return size;
}

/** A numeric header field: octal text, or GNU base-256 when the high bit of the first byte is set. */
function readNumber(block: Uint8Array, offset: number, length: number, field: string): number {
  const first = block[offset];
  if ((first & 0x80) === 0) {
    const value = readOctal(block, offset, length);
    if (value < 0) throw new TarFormatError(`Malformed TAR archive: bad ${field} field`);
    return value;
  }
  const negative = (first & 0x40) !== 0;
  let value = negative ? (~first & 0x3f) : (first & 0x3f);
  for (let i = offset + 1; i < offset + length; i++) {
    value = value * 256 + (negative ? (~block[i] & 0xff) : block[i]);
  }
  if (!Number.isSafeInteger(value)) {
    throw new TarFormatError(`Malformed TAR archive: ${field} field out of range`);
  }
  return negative ? -value - 1 : value;
}

/** Octal digits, optionally surrounded by spaces or NULs; -1 when malformed. Empty reads as 0. */
function readOctal(block: Uint8Array, offset: number, length: number): number {
  let i = offset;
  const end = offset + length;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  let value = 0;
  while (i < end && block[i] >= 0x30 && block[i] <= 0x37) {
    value = value * 8 + block[i] - 0x30;
    i++;
  }
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  if (i !== end) return -1;
  return value;
}

const decoder = new TextDecoder();

/** A NUL-terminated (or field-long) UTF-8 string; one view of the bytes, none when empty. */
function cString(bytes: Uint8Array, offset: number, length: number): string {
  let end = offset;
  const limit = offset + length;
  while (end < limit && bytes[end] !== 0) end++;
  return end === offset ? "" : decoder.decode(bytes.subarray(offset, end));
}

function isZeroBlock(block: Uint8Array): boolean {
  if (block.length < BLOCK) return false;
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function padding(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

function copy(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

function movedOn(): TarFormatError {
  return new TarFormatError("TAR member body read after the reader moved to the next member");
}

function truncated(): TarFormatError {
  return new TarFormatError("Malformed TAR archive: it ends in the middle of a member");
}

/** Byte-level access to a chunked stream, handing out subarrays of its chunks where possible. */
class ChunkReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;
  #done = false;

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader;
  }

  /** Loads the next chunk if the current one is used up; false at end of input. */
  async #fill(): Promise<boolean> {
    while (this.#offset >= this.#chunk.length) {
      if (this.#done) return false;
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#done = true;
        return false;
      }
      this.#chunk = value;
      this.#offset = 0;
    }
    return true;
  }

  /**
   * Exactly `length` bytes when the current chunk holds them (a view of it), else undefined with
   * nothing read: the caller then awaits `read`. The common case, without a promise.
   */
  readNow(length: number): Uint8Array | undefined {
    const start = this.#offset;
    return this.skipNow(length) ? this.#chunk.subarray(start, this.#offset) : undefined;
  }

  /** Skips `length` bytes when the current chunk holds them; false (nothing skipped) if not. */
  skipNow(length: number): boolean {
    assertLength(length);
    const end = this.#offset + length;
    if (end > this.#chunk.length) return false;
    this.#offset = end;
    return true;
  }

  /** Up to `max` bytes (at least 1), or an empty array at end of input. */
  async readSome(max: number): Promise<Uint8Array> {
    assertLength(max);
    if (max === 0 || !(await this.#fill())) return new Uint8Array(0);
    const end = Math.min(this.#chunk.length, this.#offset + max);
    const part = this.#chunk.subarray(this.#offset, end);
    this.#offset = end;
    return part;
  }

  /** Exactly `length` bytes, fewer only at end of input. May be a view of an input chunk. */
  async read(length: number): Promise<Uint8Array> {
    assertLength(length);
    const first = await this.readSome(length);
    if (first.length === length || first.length === 0) return first;
    const out = new Uint8Array(length);
    out.set(first);
    let used = first.length;
    while (used < length) {
      const part = await this.readSome(length - used);
      if (part.length === 0) return out.subarray(0, used);
      out.set(part, used);
      used += part.length;
    }
    return out;
  }

  /** Discards `length` bytes; throws if the input ends first. */
  async skip(length: number, what: string): Promise<void> {
    assertLength(length);
    let left = length;
    while (left > 0) {
      const part = await this.readSome(left);
      if (part.length === 0) {
        throw new TarFormatError(`Malformed TAR archive: it ends in the middle of the ${what}`);
      }
      left -= part.length;
    }
  }

  /** Reads and discards everything left, so that upstream stages (hashes, tees) see the whole input. */
  async drain(): Promise<void> {
    while (await this.#fill()) this.#offset = this.#chunk.length;
  }

  /** Stops reading the input early. */
  async cancel(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#reader.cancel().catch(() => {});
  }
}

/**
 * The reader only ever moves forwards: a negative, fractional or huge length is a bug in the
 * parser (every count taken from the input must have been checked before), never a way to
 * step back over bytes already read.
 */
function assertLength(length: number) {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`TAR reader bug: asked to move by ${length} bytes`);
  }
}

/** One member: its entry, and its body, drawn from the shared reader only while it is current. */
class Member implements TarMember {
  readonly entry: TarReadEntry;
  #stream: ReadableStream<Uint8Array> | undefined;
  #source: ChunkReader;
  #remaining: number;
  #pulling: Promise<void> | undefined;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #closed = false;
  #error: TarFormatError | undefined;
  /** The reader moved on before the body was read: a stream made now fails. */
  #movedOn = false;

  constructor(entry: TarReadEntry, source: ChunkReader) {
    assertLength(entry.size);
    this.entry = entry;
    this.#source = source;
    this.#remaining = entry.size;
  }

  /** The body as a stream, made on first use. */
  get body(): ReadableStream<Uint8Array> {
    this.#stream ??= new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        if (this.#movedOn) controller.error(movedOn());
        else if (this.#closed) controller.close();
        else if (this.#remaining === 0) this.#close();
      },
      pull: () => {
        this.#pulling = this.#pull();
        return this.#pulling;
      },
      cancel: () => {
        this.#closed = true;
      },
    }, { highWaterMark: 0 });
    return this.#stream;
  }

  async #pull(): Promise<void> {
    const part = await this.#source.readSome(this.#remaining);
    if (part.length === 0) {
      this.#error = truncated();
      this.#closed = true;
      this.#controller!.error(this.#error);
      return;
    }
    this.#remaining -= part.length;
    this.#controller!.enqueue(part);
    if (this.#remaining === 0) this.#close();
  }

  #close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller?.close();
  }

  /** Reads the whole body at once, when nothing of it was read through the stream. */
  async readWhole(): Promise<Uint8Array> {
    this.#assertUnread();
    const size = this.#remaining;
    const bytes = await this.#source.read(size);
    this.#remaining = 0;
    this.#close();
    if (bytes.length < size) {
      this.#error = truncated();
      throw this.#error;
    }
    return bytes;
  }

  /** The whole body when the chunk at hand holds it (see `TarMember`). */
  wholeNow(): Uint8Array | undefined {
    this.#assertUnread();
    const bytes = this.#source.readNow(this.#remaining);
    if (bytes === undefined) return undefined;
    this.#remaining = 0;
    this.#close();
    return bytes;
  }

  #assertUnread() {
    if (this.#pulling || this.#closed && this.#remaining > 0) {
      throw new TypeError("TAR member body read both as a stream and whole");
    }
  }

  /**
   * Skips what the consumer left unread; called before the next header is read. Returns a promise
   * only when it must wait (a pull in flight, or the rest lies beyond the chunk at hand).
   */
  finish(): Promise<void> | undefined {
    if (this.#pulling) return this.#finishAfterPull();
    this.#endUnread();
    if (!this.#source.skipNow(this.#remaining)) return this.#skipRest();
    this.#remaining = 0;
  }

  async #finishAfterPull(): Promise<void> {
    await this.#pulling;
    this.#endUnread();
    await this.#skipRest();
  }

  /** Ends the body for its consumer: a stream still open fails, one not yet made will fail. */
  #endUnread() {
    if (this.#error) throw this.#error;
    if (!this.#closed) {
      this.#closed = true;
      if (this.#controller) this.#controller.error(movedOn());
      else this.#movedOn = this.#remaining > 0;
    }
  }

  async #skipRest(): Promise<void> {
    await this.#source.skip(this.#remaining, "member");
    this.#remaining = 0;
  }
}
