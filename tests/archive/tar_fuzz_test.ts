/**
 * Fuzz test of the TAR reader. Valid archives are written with the project's own encoder (pax
 * headers for long or non-ASCII names and big values, GNU 'L'/'K' long names, pax global headers,
 * folders, symlinks, empty and multi-block files), then mutated: header bytes, size fields (octal
 * and GNU base-256, negative too), other numeric fields, type flags, checksums (recomputed after
 * most mutations, so that they get past the checksum check), pax records (lengths, keys, values),
 * truncations, appended junk and copied blocks. Each case must end, within a bounded time, in
 * entries or a TarFormatError; anything else (another error, a hang, more entries or body bytes
 * than the input can hold) fails the test and names the seed and the case.
 *
 * The seed is random per run and printed; GLACIER_TAR_FUZZ_SEED=<seed> replays the same cases.
 */
import assert from "node:assert/strict";
import {
  encodeTarHeader,
  paxRecord,
  TAR_END_OF_ARCHIVE,
  type TarEntry,
  tarPaddingLength,
} from "../../lib/archive/tar_header.ts";
import { concatBytes } from "../../testing/bytes.ts";
import { hashSeed, newSeed, type Random, seededRandom } from "../../testing/seeded_random.ts";
import {
  fixChecksum,
  type ParseCase,
  parseInWorker,
  type ParseOutcome,
  setBase256,
} from "./tar_test_helpers.ts";

const CASES = 10_000;
/** A case takes well under a millisecond; one that runs this long never ends. */
const STALL_MS = 5_000;
/** Share of cases left unmutated, which must read back without error. */
const UNMUTATED = 0.03;

const utf8 = new TextEncoder();

/** A generated case: the archive, what was done to it, and whether it is still valid. */
interface FuzzCase extends ParseCase {
  what: string;
  valid: boolean;
  /** Members written (extended headers not counted). */
  members: number;
}

/** An archive being built, remembering where its header blocks and extended-header data are. */
class ArchiveBuilder {
  readonly #parts: Uint8Array[] = [];
  #length = 0;
  /** Offsets of every header block (ustar, 'x', 'g', 'L', 'K'). */
  readonly headers: number[] = [];
  /** Offsets and lengths of pax records and GNU long names. */
  readonly extended: { offset: number; length: number }[] = [];
  readonly descriptions: string[] = [];
  members = 0;

  constructor(readonly random: Random) {}

  #push(bytes: Uint8Array) {
    this.#parts.push(bytes);
    this.#length += bytes.length;
  }

  /** A member as the encoder writes it (with its pax header if it needs one) and its content. */
  member(entry: TarEntry) {
    const header = encodeTarHeader(entry);
    if (header.length > 512) {
      this.headers.push(this.#length);
      this.extended.push({ offset: this.#length + 512, length: header.length - 1024 });
    }
    this.headers.push(this.#length + header.length - 512);
    this.#push(header);
    if (entry.type === "file") {
      this.#push(randomBytes(this.random, entry.size));
      this.#push(new Uint8Array(tarPaddingLength(entry.size)));
    }
    this.descriptions.push(`${entry.type} ${entry.path.length}:${entry.size}`);
    this.members++;
  }

  /** An extended header ('x', 'g', 'L' or 'K') holding `data`. */
  extendedHeader(typeflag: "x" | "g" | "L" | "K", data: Uint8Array) {
    const long = typeflag === "L" || typeflag === "K";
    const block = encodeTarHeader({
      path: long ? "././@LongLink" : "PaxHeaders/fuzz",
      type: "file",
      size: data.length,
      mode: 0o644,
      mtime: 0,
    });
    block[156] = typeflag.charCodeAt(0);
    fixChecksum(block, 0);
    this.headers.push(this.#length);
    this.#push(block);
    this.extended.push({ offset: this.#length, length: data.length });
    this.#push(data);
    this.#push(new Uint8Array(tarPaddingLength(data.length)));
    this.descriptions.push(`${typeflag}:${data.length}`);
  }

  end() {
    this.#push(TAR_END_OF_ARCHIVE);
  }

  bytes(): Uint8Array {
    return concatBytes(this.#parts);
  }
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function integer(random: Random, below: number): number {
  return Math.floor(random() * below);
}

function randomBytes(random: Random, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = integer(random, 256);
  return out;
}

const SIZES = [0, 1, 2, 100, 511, 512, 513, 1024, 1500, 3000] as const;

function randomPath(random: Random): string {
  return pick(random, [
    () => "a",
    () => "dir/file.txt",
    () => "x".repeat(100),
    () => "y".repeat(101),
    () => "p/".repeat(60) + "deep",
    () => "l".repeat(120) + "/" + "m".repeat(90),
    () => "z".repeat(300),
    () => "Ünïcødé/日本語.txt",
  ])();
}

function randomEntry(random: Random, type: TarEntry["type"]): TarEntry {
  const entry: TarEntry = {
    path: randomPath(random),
    type,
    size: type === "file" ? pick(random, SIZES) : 0,
    mode: pick(random, [0o644, 0o755, 0o4755, 0o7777]),
    mtime: pick(random, [0, 1700000000, -86400, 8 ** 11 + 1]),
  };
  if (type === "symlink") {
    entry.linkName = pick(random, ["target", "../t", "/" + "t".repeat(200), "ü"]);
  }
  const uid = pick(random, [undefined, 1000, 2 ** 21, 2 ** 40]);
  if (uid !== undefined) entry.uid = entry.gid = uid;
  const uname = pick(random, [undefined, "me", "ünï", "u".repeat(40)]);
  if (uname !== undefined) entry.uname = entry.gname = uname;
  return entry;
}

/** pax records: valid ones that describe nothing false, or (hostile) anything at all. */
function paxRecords(random: Random, hostile: boolean): Uint8Array {
  const records: string[] = [];
  for (let n = 1 + integer(random, 4); n > 0; n--) {
    if (!hostile) {
      records.push(
        pick(random, [
          () => paxRecord("comment", "fuzz ".repeat(integer(random, 200))),
          () => paxRecord("mtime", "1600000000.75"),
          () => paxRecord("uname", "someone"),
          () => paxRecord("path", randomPath(random)),
        ])(),
      );
      continue;
    }
    const key = pick(random, [
      "size",
      "path",
      "linkpath",
      "mtime",
      "uid",
      "gid",
      "uname",
      "comment",
      "GNU.sparse.size",
      "",
      "=",
    ]);
    const value = pick(random, [
      "",
      "0",
      "-1",
      "-512",
      "1e3",
      "0x10",
      " 12",
      "512",
      "4096",
      "9".repeat(17),
      "9".repeat(400),
      "1600000000.5",
      "-1.5",
      "ü",
      "a\nb",
    ]);
    const record = paxRecord(key, value);
    records.push(
      pick(random, [
        () => record,
        () => record, // valid syntax, hostile value
        () =>
          `${Number(record.split(" ")[0]) + pick(random, [-2, -1, 1, 2, 1000])}` +
          record.slice(record.indexOf(" ")),
        () => record.slice(0, -1) + "x",
        () => `0 ${key}=${value}\n`,
        () => `${"9".repeat(30)} ${key}=${value}\n`,
        () => record.replace("=", ""),
        () => record.replace(" ", ""),
      ])(),
    );
  }
  return utf8.encode(records.join(""));
}

/** A valid archive of one to five members (hostile pax records only if `hostile`). */
function randomArchive(random: Random, hostile: boolean): ArchiveBuilder {
  const builder = new ArchiveBuilder(random);
  for (let n = 1 + integer(random, 5); n > 0; n--) {
    const kind = pick(
      random,
      [
        "file",
        "file",
        "file",
        "directory",
        "symlink",
        "long name",
        "long link",
        "global",
        "pax",
      ] as const,
    );
    if (kind === "file" || kind === "directory" || kind === "symlink") {
      builder.member(randomEntry(random, kind));
    } else if (kind === "long name") {
      const name = "g".repeat(100 + integer(random, 300)) + "/long";
      builder.extendedHeader("L", utf8.encode(name + "\0"));
      builder.member({ ...randomEntry(random, "file"), path: name.slice(0, 100) });
    } else if (kind === "long link") {
      const target = "k".repeat(100 + integer(random, 300));
      builder.extendedHeader("K", utf8.encode(target + "\0"));
      builder.member({
        path: "link",
        type: "symlink",
        size: 0,
        mode: 0o777,
        mtime: 1,
        linkName: target.slice(0, 100),
      });
    } else if (kind === "global") {
      builder.extendedHeader("g", paxRecords(random, false));
    } else {
      builder.extendedHeader("x", paxRecords(random, hostile));
      builder.member(randomEntry(random, pick(random, ["file", "directory", "symlink"] as const)));
    }
  }
  if (random() < 0.9) builder.end();
  return builder;
}

/** Sizes around block boundaries, past the input, past 8 GiB and past safe integers; negative too. */
function interestingNumber(random: Random, inputLength: number): number {
  return pick(random, [
    () => pick(random, [-1, -2, -16, -511, -512, -513, -1024, -(2 ** 31), -(2 ** 53), -(2 ** 62)]),
    () => pick(random, [0, 1, 16, 511, 512, 513, 1023, 1024, 16 << 20, (16 << 20) + 1]),
    () => inputLength + pick(random, [-1024, -512, -1, 0, 1, 512]),
    () => pick(random, [8 ** 11, 2 ** 33, 2 ** 53 - 1, 2 ** 53, 2 ** 60, 2 ** 90]),
    () => integer(random, 5000),
  ])();
}

/** Writes a number into a header field as octal text, GNU base-256, or junk. */
function writeField(
  random: Random,
  bytes: Uint8Array,
  offset: number,
  length: number,
  value: number,
): string {
  const field = bytes.subarray(offset, offset + length);
  const style = random();
  if (style < 0.4 && value >= 0 && value < 8 ** (length - 1)) {
    field.set(utf8.encode(value.toString(8).padStart(length - 1, "0") + "\0"));
    return `octal ${value}`;
  }
  if (style < 0.85) {
    setBase256(bytes, offset, length, value);
    return `base-256 ${value}`;
  }
  const junk = pick(random, ["-1", "8", " 12 3", "1e3", "\0\0\x001", "7".repeat(length), ""]);
  field.fill(0);
  field.set(utf8.encode(junk).subarray(0, length));
  return `junk ${JSON.stringify(junk)}`;
}

const NUMERIC_FIELDS = [
  ["mode", 100, 8],
  ["uid", 108, 8],
  ["gid", 116, 8],
  ["size", 124, 12],
  ["size", 124, 12],
  ["mtime", 136, 12],
  ["checksum", 148, 8],
] as const;

/** Applies one random mutation to `bytes` (in place, or returns a new array); says what it did. */
function mutate(
  random: Random,
  bytes: Uint8Array,
  builder: ArchiveBuilder,
): { bytes: Uint8Array; what: string } {
  const headers = builder.headers.filter((offset) => offset + 512 <= bytes.length);
  const header = headers.length > 0 ? pick(random, headers) : undefined;
  const maybeFixChecksum = (chance: number) => {
    if (header === undefined || random() >= chance) return "";
    fixChecksum(bytes, header);
    return ", checksum fixed";
  };
  const kind = pick(
    random,
    [
      "byte",
      "header byte",
      "number",
      "number",
      "number",
      "typeflag",
      "pax record",
      "pax record",
      "truncate",
      "append",
      "copy block",
    ] as const,
  );
  switch (kind) {
    case "byte": {
      const at = integer(random, bytes.length);
      bytes[at] = integer(random, 256);
      return { bytes, what: `byte ${at} = ${bytes[at]}` };
    }
    case "header byte": {
      if (header === undefined) break;
      const at = header + integer(random, 512);
      bytes[at] = integer(random, 256);
      return { bytes, what: `header byte ${at} = ${bytes[at]}${maybeFixChecksum(0.75)}` };
    }
    case "number": {
      if (header === undefined) break;
      const [name, offset, length] = pick(random, NUMERIC_FIELDS);
      const value = interestingNumber(random, bytes.length - header);
      const written = writeField(random, bytes, header + offset, length, value);
      const fixed = name === "checksum" ? "" : maybeFixChecksum(0.9);
      return { bytes, what: `${name} of header at ${header} = ${written}${fixed}` };
    }
    case "typeflag": {
      if (header === undefined) break;
      const flag = pick(random, [..."01234567xgLKSVMN", "\0", String.fromCharCode(0xff)]);
      bytes[header + 156] = flag.charCodeAt(0);
      return {
        bytes,
        what: `typeflag of header at ${header} = ${JSON.stringify(flag)}${maybeFixChecksum(0.9)}`,
      };
    }
    case "pax record": {
      const ranges = builder.extended.filter(({ offset }) => offset < bytes.length);
      if (ranges.length === 0) break;
      const { offset, length } = pick(random, ranges);
      const at = offset + integer(random, Math.max(1, Math.min(length, bytes.length - offset)));
      bytes[at] = pick(random, [..." =\n0123456789\0"]).charCodeAt(0);
      return { bytes, what: `extended data byte ${at} = ${bytes[at]}` };
    }
    case "truncate": {
      const at = random() < 0.5
        ? 512 * integer(random, Math.ceil(bytes.length / 512))
        : integer(random, bytes.length);
      return { bytes: bytes.slice(0, at), what: `truncated at ${at}` };
    }
    case "append": {
      const [what, tail] = pick(random, [
        () => ["junk", randomBytes(random, 1 + integer(random, 2000))] as const,
        () => ["zero blocks", new Uint8Array(512 * (1 + integer(random, 3)))] as const,
        () =>
          [
            "a header",
            header === undefined ? new Uint8Array(0) : bytes.slice(header, header + 512),
          ] as const,
        () => ["the archive again", bytes.slice()] as const,
      ])();
      return { bytes: concatBytes([bytes, tail]), what: `appended ${what} (${tail.length})` };
    }
    case "copy block": {
      const blocks = Math.floor(bytes.length / 512);
      if (blocks < 2) break;
      const from = 512 * integer(random, blocks);
      const to = header ?? 512 * integer(random, blocks);
      bytes.copyWithin(to, from, from + 512);
      return { bytes, what: `block ${from} copied over ${to}` };
    }
  }
  const at = integer(random, bytes.length);
  bytes[at] ^= 0x80;
  return { bytes, what: `byte ${at} ^= 0x80` };
}

/** Case `index` of the run with `seed`, generated from its own seed so that it can be replayed. */
function fuzzCase(seed: number, index: number): FuzzCase {
  const random = seededRandom(hashSeed(seed, `tar fuzz case ${index}`));
  const valid = random() < UNMUTATED;
  const builder = randomArchive(random, !valid);
  let bytes = builder.bytes();
  const steps = [`archive [${builder.descriptions.join(", ")}] of ${bytes.length} bytes`];
  if (!valid) {
    for (let n = 1 + integer(random, 3); n > 0 && bytes.length > 0; n--) {
      const mutated = mutate(random, bytes, builder);
      bytes = mutated.bytes;
      steps.push(mutated.what);
    }
  }
  const chunkSizes = pick(random, [[1, 700], [1, 64], [512, 512], [1 << 20, 1 << 20]] as const);
  const bodies = pick(random, ["read", "skip", "cancel"] as const);
  steps.push(`chunks ${chunkSizes.join("-")}, bodies ${bodies}`);
  return {
    bytes,
    chunkSeed: index,
    chunkSizes: [...chunkSizes],
    bodies,
    what: steps.join("; "),
    valid,
    members: builder.members,
  };
}

/** Why an outcome fails the test, or undefined when it is fine. */
function problem(fuzz: FuzzCase, outcome: ParseOutcome): string | undefined {
  if (outcome.runaway) return `runaway: more ${outcome.runaway} than the input holds`;
  const error = outcome.error;
  if (fuzz.valid && !error && outcome.entries !== fuzz.members) {
    return `a valid archive of ${fuzz.members} members read as ${outcome.entries} entries`;
  }
  if (error === undefined) return undefined;
  if (fuzz.valid) return `a valid archive failed: ${error.name}: ${error.message}`;
  if (error.name !== "TarFormatError") return `threw ${error.name}: ${error.message}`;
  if (error.message.includes("\n")) return `a message of several lines: ${error.message}`;
  return undefined;
}

Deno.test(`readTar ends in entries or a TarFormatError on ${CASES} mutated archives`, async () => {
  const seed = Number(Deno.env.get("GLACIER_TAR_FUZZ_SEED") ?? newSeed());
  const replay = `seed ${seed} (GLACIER_TAR_FUZZ_SEED=${seed} replays it)`;
  const started = performance.now();
  const cases = Array.from({ length: CASES }, (_, index) => fuzzCase(seed, index));
  const generated = performance.now();
  let outcomes: ParseOutcome[];
  try {
    outcomes = await parseInWorker(cases, STALL_MS);
  } catch (error) {
    const index = Number(/case (\d+)/.exec(String(error))?.[1]);
    throw new Error(`${replay}: ${error}\ncase ${index}: ${cases[index]?.what}`);
  }
  const failures: string[] = [];
  const ends = new Map<string, number>();
  for (const [index, outcome] of outcomes.entries()) {
    const why = problem(cases[index], outcome);
    if (why) failures.push(`case ${index}: ${why}\n  ${cases[index].what}`);
    const end = outcome.error?.message.replace(/"(?:[^"\\]|\\.)*"/g, '"..."')
      .replace(/-?\d+/g, "N") ?? "entries";
    ends.set(end, (ends.get(end) ?? 0) + 1);
  }
  const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1);
  console.log(
    `tar fuzz: ${CASES} cases generated in ${seconds(started, generated)} s, read in ` +
      `${seconds(generated, performance.now())} s, ${replay}; endings:`,
  );
  for (const [end, count] of [...ends].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${String(count).padStart(5)}  ${end}`);
  }
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failing cases, ${replay}`);
  assert.ok(cases.filter((c) => c.valid).length > 0, "some cases are left valid");
});
