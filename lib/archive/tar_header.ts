/**
 * Encodes TAR member headers in the POSIX pax format: a plain ustar header when the entry fits it,
 * preceded by a pax extended header ('x') carrying whatever does not (long or non-ASCII paths and
 * link targets, sizes of 8 GiB and more, out-of-range ids and times, long or non-ASCII user names).
 * Each header starts as a copy of a prebuilt template block, so encoding costs a few field writes.
 */

/** One archive member as the program stores it. mtime is integer seconds since the epoch. */
export interface TarEntry {
  /** '/'-separated relative path, no leading '/'; directories without a trailing '/'. */
  path: string;
  type: "file" | "directory" | "symlink" | "hardlink";
  /** Bytes of content; 0 for directories, symlinks and hardlinks. */
  size: number;
  /** Permission bits (e.g. 0o644), at most 0o7777. */
  mode: number;
  /** Integer seconds since the epoch. */
  mtime: number;
  /** Symlink target, stored as-is; for a hardlink, the archive path of the file it names. */
  linkName?: string;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
}

/** Thrown when an entry cannot be encoded (bad size, mode or time, symlink without a target). */
export class TarEncodeError extends Error {
  override name = "TarEncodeError";
}

/** Size of a TAR block. */
export const TAR_BLOCK_SIZE = 512;

/** The two zero blocks that end an archive. */
export const TAR_END_OF_ARCHIVE: Uint8Array = new Uint8Array(2 * TAR_BLOCK_SIZE);

/** Zero bytes needed after `size` bytes of content to reach a 512-byte boundary. */
export function tarPaddingLength(size: number): number {
  const rest = size % TAR_BLOCK_SIZE;
  return rest === 0 ? 0 : TAR_BLOCK_SIZE - rest;
}

// Field offsets and lengths of the ustar header.
const NAME = 0, NAME_LEN = 100;
const MODE = 100, UID = 108, GID = 116, ID_LEN = 8;
const SIZE = 124, MTIME = 136, NUMBER_LEN = 12;
const CHECKSUM = 148;
const TYPEFLAG = 156;
const LINKNAME = 157, LINKNAME_LEN = 100;
const UNAME = 265, GNAME = 297, OWNER_NAME_LEN = 32;
const PREFIX = 345, PREFIX_LEN = 155;

/** Largest value of an 11-digit octal field, plus one: 8 GiB. */
const OCTAL_11_LIMIT = 8 ** 11;
/** Largest value of a 7-digit octal field, plus one. */
const OCTAL_7_LIMIT = 8 ** 7;

const SLASH = 0x2f;
const utf8 = new TextEncoder();

const TEMPLATE = buildTemplate();
/** The template's checksum (its checksum field counted as spaces). */
const TEMPLATE_SUM = TEMPLATE.reduce((sum, byte) => sum + byte, 0);
/** ustar type flags: '0' file, '5' folder, '2' symlink, '1' hardlink. */
const TYPEFLAGS: Record<TarEntry["type"], number> = {
  file: 0x30,
  directory: 0x35,
  symlink: 0x32,
  hardlink: 0x31,
};

function buildTemplate(): Uint8Array {
  const block = new Uint8Array(TAR_BLOCK_SIZE);
  writeOctal(block, MODE, ID_LEN, 0);
  writeOctal(block, UID, ID_LEN, 0);
  writeOctal(block, GID, ID_LEN, 0);
  writeOctal(block, SIZE, NUMBER_LEN, 0);
  writeOctal(block, MTIME, NUMBER_LEN, 0);
  block.fill(0x20, CHECKSUM, CHECKSUM + 8); // the checksum counts its own field as spaces
  block.set(utf8.encode("ustar\u000000"), 257); // magic "ustar\0", version "00"
  writeOctal(block, 329, 8, 0); // devmajor
  writeOctal(block, 337, 8, 0); // devminor
  return block;
}

/**
 * The header block(s) for an entry: a pax 'x' extended header when needed, then the ustar header.
 * Length is a multiple of 512. With `scratch` (512 bytes, the caller's), a plain ustar header is
 * written into it and it is returned: no allocation, for callers that copy the header at once.
 */
export function encodeTarHeader(entry: TarEntry, scratch?: Uint8Array): Uint8Array {
  const size = entry.type === "file" ? entry.size : 0;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new TarEncodeError(`Cannot archive ${entry.path}: invalid size ${entry.size}`);
  }
  if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) {
    throw new TarEncodeError(`Cannot archive ${entry.path}: invalid mode ${entry.mode}`);
  }
  if (!Number.isSafeInteger(entry.mtime)) {
    throw new TarEncodeError(`Cannot archive ${entry.path}: invalid mtime ${entry.mtime}`);
  }
  if ((entry.type === "symlink" || entry.type === "hardlink") && entry.linkName === undefined) {
    throw new TarEncodeError(`Cannot archive ${entry.type} ${entry.path}: no link target`);
  }

  const header = scratch ?? new Uint8Array(TAR_BLOCK_SIZE);
  header.set(TEMPLATE);
  const pax: string[] = [];
  // The checksum is the template's plus what each field adds over the template's zeros.
  let sum = TEMPLATE_SUM;

  const path = entry.type === "directory"
    ? (entry.path === "" ? "./" : entry.path + "/")
    : entry.path;
  let pathBytes: Uint8Array | undefined;
  const pathAscii = isAscii(path);
  if (pathAscii && path.length <= NAME_LEN) {
    // The common case: no encoding needed, the characters are the bytes.
    for (let i = 0; i < path.length; i++) sum += header[NAME + i] = path.charCodeAt(i);
  } else {
    pathBytes = utf8.encode(path);
    const written = writePath(header, pathBytes);
    if (written < 0) sum += writeTruncated(header, NAME, NAME_LEN, pathBytes);
    else sum += written;
    if (written < 0 || !pathAscii) pax.push(paxRecord("path", path));
  }

  if (entry.type === "symlink" || entry.type === "hardlink") {
    const link = entry.linkName!;
    const linkBytes = utf8.encode(link);
    if (linkBytes.length > LINKNAME_LEN || !isAscii(link)) {
      pax.push(paxRecord("linkpath", link));
      sum += writeTruncated(header, LINKNAME, LINKNAME_LEN, linkBytes);
    } else {
      header.set(linkBytes, LINKNAME);
      sum += byteSum(linkBytes);
    }
  }

  sum += writeNumber(header, MODE, ID_LEN, entry.mode, OCTAL_7_LIMIT, "mode", pax);
  sum += writeNumber(header, UID, ID_LEN, entry.uid ?? 0, OCTAL_7_LIMIT, "uid", pax);
  sum += writeNumber(header, GID, ID_LEN, entry.gid ?? 0, OCTAL_7_LIMIT, "gid", pax);
  sum += writeNumber(header, SIZE, NUMBER_LEN, size, OCTAL_11_LIMIT, "size", pax);
  sum += writeNumber(header, MTIME, NUMBER_LEN, entry.mtime, OCTAL_11_LIMIT, "mtime", pax);
  sum += writeOwnerName(header, UNAME, entry.uname, "uname", pax);
  sum += writeOwnerName(header, GNAME, entry.gname, "gname", pax);
  sum += header[TYPEFLAG] = TYPEFLAGS[entry.type];
  writeChecksumValue(header, sum);

  if (pax.length === 0) return header;
  const paxData = utf8.encode(pax.join(""));
  const paxHeader = paxHeaderBlock(pathBytes ?? utf8.encode(path), paxData.length, entry.mtime);
  const dataBlocks = paxData.length + tarPaddingLength(paxData.length);
  const out = new Uint8Array(2 * TAR_BLOCK_SIZE + dataBlocks);
  out.set(paxHeader, 0);
  out.set(paxData, TAR_BLOCK_SIZE);
  out.set(header, TAR_BLOCK_SIZE + dataBlocks);
  return out;
}

/**
 * Writes the path into name (and prefix if needed) and returns the sum of the bytes written; -1
 * (nothing written) if ustar cannot hold it.
 */
function writePath(header: Uint8Array, bytes: Uint8Array): number {
  const length = bytes.length;
  if (length <= NAME_LEN) {
    header.set(bytes, NAME);
    return byteSum(bytes);
  }
  if (length > PREFIX_LEN + 1 + NAME_LEN) return -1;
  // The rightmost '/' within the prefix limit gives the shortest name; the name may not be empty.
  let split = bytes.lastIndexOf(SLASH, PREFIX_LEN);
  while (split > 0 && split === length - 1) split = bytes.lastIndexOf(SLASH, split - 1);
  if (split <= 0 || length - split - 1 > NAME_LEN) return -1;
  header.set(bytes.subarray(0, split), PREFIX);
  header.set(bytes.subarray(split + 1), NAME);
  return byteSum(bytes) - SLASH;
}

function byteSum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += bytes[i];
  return sum;
}

/**
 * Writes at most `length` bytes of `bytes`, cut at a UTF-8 character boundary (a fallback for
 * non-pax readers); returns the sum of the bytes written.
 */
function writeTruncated(
  header: Uint8Array,
  offset: number,
  length: number,
  bytes: Uint8Array,
): number {
  let end = Math.min(length, bytes.length);
  while (end < bytes.length && end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  const kept = bytes.subarray(0, end);
  header.set(kept, offset);
  return byteSum(kept);
}

/**
 * Writes a number into its field of a header made from the template (the field holds zero
 * digits), or a pax record when the field cannot hold it; returns what it adds to the checksum.
 */
function writeNumber(
  header: Uint8Array,
  offset: number,
  length: number,
  value: number,
  limit: number,
  paxKey: string,
  pax: string[],
): number {
  if (!Number.isSafeInteger(value) || (value < 0 && paxKey !== "mtime")) {
    throw new TarEncodeError(`Cannot archive: invalid ${paxKey} ${value}`);
  }
  if (value >= 0 && value < limit) return writeOctalOverZeros(header, offset + length - 2, value);
  pax.push(paxRecord(paxKey, String(value)));
  return 0;
}

/**
 * Writes `value` in octal ending at `last` over a field of '0' digits, from the lowest digit up
 * to its highest non-zero one; returns the sum of its digits, which is what the field adds to
 * the checksum over the template's zeros.
 */
function writeOctalOverZeros(block: Uint8Array, last: number, value: number): number {
  let sum = 0;
  let i = last;
  let rest = value;
  // Above 32 bits (sizes of 4 GiB and more) the bit operations below would wrap.
  while (rest > 0xffffffff) {
    const digit = rest % 8;
    block[i--] = 0x30 + digit;
    sum += digit;
    rest = Math.floor(rest / 8);
  }
  while (rest !== 0) {
    const digit = rest & 7;
    block[i--] = 0x30 + digit;
    sum += digit;
    rest >>>= 3;
  }
  return sum;
}

/** Writes an owner name, or a pax record if it does not fit; returns its checksum share. */
function writeOwnerName(
  header: Uint8Array,
  offset: number,
  name: string | undefined,
  paxKey: string,
  pax: string[],
): number {
  if (!name) return 0;
  let sum = 0;
  if (name.length < OWNER_NAME_LEN && isAscii(name)) {
    for (let i = 0; i < name.length; i++) sum += header[offset + i] = name.charCodeAt(i);
  } else {
    pax.push(paxRecord(paxKey, name));
  }
  return sum;
}

/** Zero-padded octal digits filling the field, then a NUL. */
function writeOctal(block: Uint8Array, offset: number, length: number, value: number) {
  let rest = value;
  for (let i = offset + length - 2; i >= offset; i--) {
    block[i] = 0x30 + (rest % 8);
    rest = Math.floor(rest / 8);
  }
  block[offset + length - 1] = 0;
}

/** Sums the block (checksum field as spaces) and writes the sum as GNU tar does: "%06o\0 ". */
function writeChecksum(block: Uint8Array) {
  writeChecksumValue(block, byteSum(block));
}

/** Writes a checksum as GNU tar does: "%06o\0 ". */
function writeChecksumValue(block: Uint8Array, sum: number) {
  writeOctal(block, CHECKSUM, 7, sum);
  block[CHECKSUM + 7] = 0x20;
}

/** The ustar header of a pax extended header, named like GNU tar's "PaxHeaders/<basename>". */
function paxHeaderBlock(pathBytes: Uint8Array, dataLength: number, mtime: number): Uint8Array {
  const block = TEMPLATE.slice();
  let end = pathBytes.length;
  while (end > 0 && pathBytes[end - 1] === SLASH) end--;
  const base = pathBytes.subarray(pathBytes.lastIndexOf(SLASH, end - 1) + 1, end);
  const name = new Uint8Array(PAX_DIR.length + base.length);
  name.set(PAX_DIR);
  name.set(base, PAX_DIR.length);
  writeTruncated(block, NAME, NAME_LEN, name);
  writeOctal(block, MODE, ID_LEN, 0o644);
  writeOctal(block, SIZE, NUMBER_LEN, dataLength);
  writeOctal(block, MTIME, NUMBER_LEN, mtime >= 0 && mtime < OCTAL_11_LIMIT ? mtime : 0);
  block[TYPEFLAG] = 0x78; // 'x'
  writeChecksum(block);
  return block;
}

const PAX_DIR = utf8.encode("PaxHeaders/");

/** One pax record, "%d %s=%s\n", whose leading length counts its own digits. */
export function paxRecord(key: string, value: string): string {
  const body = utf8ByteLength(key) + utf8ByteLength(value) + 3; // ' ', '=', '\n'
  let digits = String(body).length;
  while (String(body + digits).length !== digits) digits++;
  return `${body + digits} ${key}=${value}\n`;
}

function utf8ByteLength(text: string): number {
  return isAscii(text) ? text.length : utf8.encode(text).length;
}

// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

function isAscii(text: string): boolean {
  return ASCII.test(text);
}
