import assert from "node:assert/strict";
import { join } from "node:path";
import {
  encodeTarHeader,
  paxRecord,
  type TarEntry,
  tarPaddingLength,
} from "../../lib/archive/tar_header.ts";
import { readTar, TarFormatError, type TarReadEntry } from "../../lib/archive/tar_reader.ts";
import {
  buildArchive,
  chunkedStream,
  fixChecksum,
  type Member,
  parseInWorker,
  randomBytes,
  readAll,
  readMembers,
  run,
  setBase256,
} from "./tar_test_helpers.ts";
import { concatBytes } from "../../testing/bytes.ts";
import { needs, needsSymlinks, where } from "../../testing/platform.ts";

const utf8 = new TextEncoder();

/** What a file tree on disk should read back as, by archive path. */
interface Expected {
  type: TarReadEntry["type"];
  mode: number;
  mtime: number;
  ino: number;
  content?: Uint8Array;
  linkName?: string;
}

interface TreeOptions {
  /** Only names and link targets that fit plain ustar. */
  ustar: boolean;
}

/** Builds a tree under `root/top` and returns the archive paths it holds. */
async function makeTree(root: string, options: TreeOptions): Promise<string[]> {
  const paths: string[] = [];
  const at = (path: string) => join(root, path);
  const dir = async (path: string, mode = 0o755) => {
    await Deno.mkdir(at(path));
    await Deno.chmod(at(path), mode);
    paths.push(path);
  };
  const file = async (path: string, content: Uint8Array, mode = 0o644, mtime = 1600000000.75) => {
    await Deno.writeFile(at(path), content);
    await Deno.chmod(at(path), mode);
    await Deno.utime(at(path), mtime, mtime);
    paths.push(path);
  };
  const link = async (path: string, target: string) => {
    await Deno.symlink(target, at(path));
    await run("touch", ["-h", "-d", "@1500000000.5", at(path)]);
    paths.push(path);
  };

  await dir("top");
  await file("top/empty.txt", new Uint8Array(0), 0o600, 1700000000);
  await file("top/block.bin", randomBytes(512, 1), 0o600, 315532800);
  await file("top/odd.bin", randomBytes(513, 2), 0o640);
  await file("top/big.bin", randomBytes(200_000, 3), 0o644);
  await file("top/run.sh", utf8.encode("#!/bin/sh\n"), 0o755);
  await dir("top/emptydir", 0o700);
  await dir("top/x");
  await dir("top/x/y");
  await file("top/x/y/deep.txt", utf8.encode("deep"));
  await link("top/rel-link", "odd.bin");
  await link("top/abs-link", "/etc/hostname");
  await dir("top/Ünïcødé");
  await file("top/Ünïcødé/日本語.txt", utf8.encode("こんにちは"));
  await Deno.link(at("top/run.sh"), at("top/hard-link"));
  paths.push("top/hard-link");
  await run("mkfifo", [at("top/fifo")]);
  paths.push("top/fifo");
  // 250 characters, splittable into a ustar prefix and name.
  let long = "top";
  for (const c of ["a", "b", "c", "d", "e"]) {
    long += "/" + c.repeat(36);
    await dir(long);
  }
  await file(long + "/" + "f".repeat(250 - long.length - 1), utf8.encode("250"));
  if (!options.ustar) {
    await file("top/before-1970.txt", utf8.encode("old"), 0o644, -86400.25);
    await link("top/long-link", "l".repeat(150) + "/target");
    await dir("top/" + "n".repeat(150));
    await file("top/" + "n".repeat(150) + "/" + "m".repeat(150), utf8.encode("long"));
  }
  for (const path of ["top/x/y", "top/x", "top/emptydir", "top/Ünïcødé", "top"]) {
    await Deno.utime(at(path), 1234567890, 1234567890);
  }
  return paths;
}

async function expectedOf(root: string, paths: string[]): Promise<Map<string, Expected>> {
  const out = new Map<string, Expected>();
  for (const path of paths) {
    const where = join(root, path);
    const info = await Deno.lstat(where);
    const expected: Expected = {
      type: info.isFile
        ? "file"
        : info.isDirectory
        ? "directory"
        : info.isSymlink
        ? "symlink"
        : "other",
      mode: info.mode! & 0o7777,
      mtime: Math.floor(info.mtime!.getTime() / 1000),
      ino: info.ino!,
    };
    if (info.isFile) expected.content = await Deno.readFile(where);
    if (info.isSymlink) expected.linkName = await Deno.readLink(where);
    out.set(path, expected);
  }
  return out;
}

/** Checks what readTar produced against the tree on disk. */
function compare(
  read: { entry: TarReadEntry; content: Uint8Array }[],
  expected: Map<string, Expected>,
  uid: number,
) {
  assert.deepEqual(read.map((m) => m.entry.path).sort(), [...expected.keys()].sort());
  let hardlinks = 0;
  for (const { entry, content } of read) {
    const want = expected.get(entry.path)!;
    assert.equal(entry.mtime, want.mtime, `mtime of ${entry.path}`);
    assert.equal(entry.uid, uid, `uid of ${entry.path}`);
    if (entry.type === "hardlink") {
      // GNU tar stores the second name of an inode as a link to the first.
      hardlinks++;
      assert.equal(want.type, "file");
      assert.equal(expected.get(entry.linkName!)?.ino, want.ino, `${entry.path} links to its twin`);
      assert.equal(entry.size, 0);
      assert.equal(content.length, 0);
      continue;
    }
    assert.equal(entry.type, want.type, `type of ${entry.path}`);
    if (entry.type !== "symlink") assert.equal(entry.mode, want.mode, `mode of ${entry.path}`);
    assert.equal(entry.linkName, want.linkName, `link of ${entry.path}`);
    assert.equal(entry.size, want.content?.length ?? 0, `size of ${entry.path}`);
    assert.deepEqual(content, want.content ?? new Uint8Array(0), `content of ${entry.path}`);
  }
  assert.equal(hardlinks, 1);
}

for (const format of ["pax", "gnu", "ustar"] as const) {
  Deno.test(
    where(
      [needs("tar", "touch"), needsSymlinks()],
      `readTar reads GNU tar --format=${format} archives, in tiny chunks too`,
      async () => {
        const dir = await Deno.makeTempDir({ prefix: "tar_reader_test_" });
        try {
          const paths = await makeTree(dir, { ustar: format === "ustar" });
          const expected = await expectedOf(dir, paths);
          const archive = join(dir, "a.tar");
          const args = ["--format=" + format, "-cf", archive, "-C", dir, "top"];
          if (format !== "ustar") args.unshift("--owner=someone:3000000", "--group=grp:4000000");
          if (format === "pax") args.unshift("--pax-option=comment=global");
          await run("tar", args);
          const bytes = await Deno.readFile(archive);
          const raw = new TextDecoder("latin1").decode(bytes);
          if (format === "gnu") assert.ok(raw.includes("././@LongLink"), "GNU long names in use");
          if (format === "pax") {
            assert.equal(String.fromCharCode(bytes[156]), "g", "starts with a global header");
            assert.ok(raw.includes("PaxHeaders"), "pax extended headers in use");
            assert.match(raw, / mtime=1600000000\.75/, "fractional pax mtimes in use");
          }
          const uid = format === "ustar" ? 0 : 3000000;
          compare(await readMembers(chunkedStream(bytes, 1, 65536, 65536)), expected, uid);
          for (const seed of [2, 3, 4]) {
            compare(await readMembers(chunkedStream(bytes, seed)), expected, uid);
          }
          const fifo = (await readMembers(chunkedStream(bytes))).find((m) =>
            m.entry.path === "top/fifo"
          );
          assert.equal(fifo?.entry.type, "other");
          if (format !== "ustar") {
            const member = (await readMembers(chunkedStream(bytes))).find((m) =>
              m.entry.path === "top/empty.txt"
            );
            assert.equal(member?.entry.gid, 4000000);
          }
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    ),
  );
}

/** The entry readTar should return for an encoded entry. */
function asRead(entry: TarEntry): TarReadEntry {
  const out: TarReadEntry = {
    path: entry.path,
    type: entry.type,
    size: entry.type === "file" ? entry.size : 0,
    mode: entry.mode,
    mtime: entry.mtime,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
  };
  if (entry.type === "symlink") out.linkName = entry.linkName;
  if (entry.uname) out.uname = entry.uname;
  if (entry.gname) out.gname = entry.gname;
  return out;
}

function roundTripMembers(): Member[] {
  const members: Member[] = [];
  const file = (path: string, size: number, extra: Partial<TarEntry> = {}) =>
    members.push({
      entry: { path, type: "file", size, mode: 0o644, mtime: 1700000000, ...extra },
      content: randomBytes(size, size + 7),
    });
  members.push({ entry: { path: "", type: "directory", size: 0, mode: 0o755, mtime: 5 } });
  members.push({ entry: { path: "home", type: "directory", size: 0, mode: 0o700, mtime: 6 } });
  file("home/empty", 0, { mode: 0o600 });
  file("home/one", 1);
  file("home/block", 512, { mode: 0o4755 });
  file("home/big", 1_000_003, { mtime: 0 });
  file("home/Ünïcødé/日本語.txt", 10, { uname: "ünï", gname: "g".repeat(40) });
  file("home/" + "d".repeat(150) + "/" + "f".repeat(90), 3);
  file("home/" + "n".repeat(150), 4, { uid: 3000000, gid: 2 ** 40 });
  file("home/" + "p/".repeat(200) + "deep", 5, { mtime: -86400 });
  file("home/future", 6, { mtime: 8 ** 11 + 1, uname: "me", gname: "us" });
  // Owner names that repeat, shrink to a prefix of the last, come back, and go (the reader
  // decodes a name again only when its bytes differ from the last header's).
  file("home/o1", 1, { uname: "alice", gname: "staff" });
  file("home/o2", 1, { uname: "ali", gname: "staff" });
  file("home/o3", 1, { uname: "alice", gname: "st" });
  file("home/o4", 1);
  members.push({
    entry: { path: "home/l", type: "symlink", size: 0, mode: 0o777, mtime: 9, linkName: "../x" },
  });
  members.push({
    entry: {
      path: "home/long-link",
      type: "symlink",
      size: 0,
      mode: 0o777,
      mtime: 9,
      linkName: "/" + "t".repeat(300) + "/ü",
    },
  });
  return members;
}

Deno.test("encoder -> readTar round trip, in any chunking", async () => {
  const members = roundTripMembers();
  const archive = buildArchive(members);
  const expected = members.map((m) => ({
    entry: asRead(m.entry),
    content: m.content ?? new Uint8Array(0),
  }));
  // The root directory is written as "./" and read back as ".".
  expected[0].entry.path = ".";
  for (const [seed, min, max] of [[1, 1, 700], [2, 1, 3], [3, 511, 513], [4, 1 << 20, 1 << 20]]) {
    const read = await readMembers(chunkedStream(archive, seed, min, max));
    assert.deepEqual(read, expected, `chunks ${min}..${max}`);
  }
});

Deno.test("readTar hands a body out whole, in any chunking, and a truncated one fails", async () => {
  const members = roundTripMembers();
  const archive = buildArchive(members);
  const expected = members.map((m) => m.content ?? new Uint8Array(0));
  for (const [seed, min, max] of [[1, 1, 700], [3, 511, 513], [4, 1 << 20, 1 << 20]]) {
    const read: Uint8Array[] = [];
    // Whole at once where the chunk at hand holds it, whole after a wait, or as a stream: mixed.
    for await (const member of readTar(chunkedStream(archive, seed, min, max))) {
      const way = read.length % 3;
      read.push(
        way === 0
          ? member.wholeNow() ?? await member.readWhole()
          : way === 1
          ? await member.readWhole()
          : await readAll(member.body),
      );
    }
    assert.deepEqual(read, expected, `chunks ${min}..${max}`);
  }
  const file = members.findIndex((m) => (m.content?.length ?? 0) > 1000);
  const cut = buildArchive(members.slice(0, file + 1));
  const truncated = cut.subarray(0, cut.length - 1024 - 600);
  await assert.rejects(async () => {
    for await (const member of readTar(chunkedStream(truncated))) await member.readWhole();
  }, TarFormatError);
});

Deno.test("readTar's wholeNow gives a body the chunk at hand holds, and reads nothing otherwise", async () => {
  const big = new Uint8Array(3000).fill(7);
  const file = (path: string, content: Uint8Array) => ({
    entry: { path, type: "file" as const, size: content.length, mode: 0o644, mtime: 0 },
    content,
  });
  const archive = buildArchive([
    file("small", new Uint8Array(10).fill(1)),
    file("big", big),
    file("empty", new Uint8Array(0)),
  ]);
  // Chunks of 1024 bytes: "small" lies in its header's chunk, "big" spans three chunks.
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < archive.length; at += 1024) chunks.push(archive.slice(at, at + 1024));
  const seen: string[] = [];
  for await (const member of readTar(ReadableStream.from(chunks))) {
    const now = member.wholeNow();
    const body = now ?? await member.readWhole();
    seen.push(`${member.entry.path}:${now === undefined ? "waited" : "now"}:${body.length}`);
    // Nothing of "big" was taken by wholeNow: readWhole gives all of it.
    if (member.entry.path === "big") assert.deepEqual(body, big);
  }
  assert.deepEqual(seen, ["small:now:10", "big:waited:3000", "empty:now:0"]);
});

Deno.test("readTar reports sizes of 8 GiB and more from pax headers", async () => {
  const size = 8 ** 11 + 5;
  const header = encodeTarHeader({ path: "huge", type: "file", size, mode: 0o644, mtime: 1 });
  let cancelled = false;
  let sent = false;
  // The header, then content that never ends.
  const tracked = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(sent ? new Uint8Array(65536) : header);
      sent = true;
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const { entry } of readTar(tracked)) {
    assert.equal(entry.size, size);
    break;
  }
  assert.ok(cancelled, "stopping early cancels the input");
});

Deno.test("readTar reads GNU base-256 size, mtime and uid fields", async () => {
  const content = randomBytes(1000, 9);
  const archive = buildArchive([{
    entry: { path: "bin", type: "file", size: 1000, mode: 0o644, mtime: 1 },
    content,
  }]);
  const field = (offset: number, length: number, bytes: number[]) => {
    archive.fill(0, offset, offset + length);
    archive.set(bytes, offset + length - bytes.length);
  };
  field(124, 12, [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xe8]); // size 1000
  field(136, 12, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xae, 0x80]); // -86400
  field(108, 8, [0x80, 0, 0, 0, 0, 0x2d, 0xc6, 0xc0]); // uid 3000000
  fixChecksum(archive, 0);
  const [read] = await readMembers(chunkedStream(archive));
  assert.equal(read.entry.size, 1000);
  assert.equal(read.entry.mtime, -86400);
  assert.equal(read.entry.uid, 3000000);
  assert.deepEqual(read.content, content);
});

Deno.test("readTar skips unread bodies, honours cancelled ones, and passes chunks through", async () => {
  const members = roundTripMembers();
  const archive = buildArchive(members);
  const paths = members.map((m) => m.entry.path || ".");
  // Bodies never touched.
  const skipped: string[] = [];
  for await (const { entry } of readTar(chunkedStream(archive, 5))) skipped.push(entry.path);
  assert.deepEqual(skipped, paths);
  // Bodies read part way, then cancelled or abandoned.
  const partial: string[] = [];
  const bodies: ReadableStream<Uint8Array>[] = [];
  let index = 0;
  for await (const { entry, body } of readTar(chunkedStream(archive, 6))) {
    partial.push(entry.path);
    const reader = body.getReader();
    const first = await reader.read();
    if (entry.size > 0) assert.ok(first.value && first.value.length > 0);
    if (index++ % 2 === 0) await reader.cancel();
    else reader.releaseLock();
    bodies.push(body);
  }
  assert.deepEqual(partial, paths);
  // A body abandoned without reading errors once the reader has moved on.
  await assert.rejects(readAll(bodies[5]), TarFormatError);
  // A body first asked for after the reader has moved on errors too, unless it is empty.
  const lateMembers: { size: number; body: () => ReadableStream<Uint8Array> }[] = [];
  for await (const member of readTar(chunkedStream(archive, 8))) {
    lateMembers.push({ size: member.entry.size, body: () => member.body });
  }
  const late = lateMembers.find((m) => m.size > 0)!;
  await assert.rejects(readAll(late.body()), TarFormatError);
  const empty = lateMembers.find((m) => m.size === 0)!;
  assert.equal((await readAll(empty.body())).length, 0);
  // One big input chunk: the body is a view of it, not a copy.
  for await (const { entry, body } of readTar(chunkedStream(archive, 7, 1 << 24, 1 << 24))) {
    if (entry.path !== "home/big") continue;
    const parts: Uint8Array[] = [];
    for await (const part of body) parts.push(part);
    assert.equal(parts.length, 1);
    assert.equal(parts[0].length, entry.size);
  }
});

Deno.test("readTar stops at the end blocks and ignores trailing data; accepts a clean EOF", async () => {
  const archive = buildArchive([{
    entry: { path: "a", type: "file", size: 3, mode: 0o644, mtime: 1 },
    content: utf8.encode("abc"),
  }]);
  const trailing = concatBytes([archive, randomBytes(3000, 1)]);
  assert.deepEqual((await readMembers(chunkedStream(trailing))).map((m) => m.entry.path), ["a"]);
  const noEndBlocks = archive.subarray(0, 1024);
  assert.deepEqual((await readMembers(chunkedStream(noEndBlocks))).map((m) => m.entry.path), ["a"]);
  assert.deepEqual(await readMembers(chunkedStream(new Uint8Array(0))), []);
});

Deno.test("readTar raises TarFormatError on malformed archives", async () => {
  const members = roundTripMembers();
  const archive = buildArchive(members);
  const consume = (bytes: Uint8Array) => readMembers(chunkedStream(bytes));
  const skipBodies = async (bytes: Uint8Array) => {
    for await (const _ of readTar(chunkedStream(bytes))) { /* bodies left to the reader */ }
  };

  const corrupt = archive.slice();
  corrupt[512 + 1]++; // the name of the second member
  await assert.rejects(
    consume(corrupt),
    (e: unknown) => e instanceof TarFormatError && /checksum/.test(e.message),
  );

  // Cut inside the body of home/big.
  const bigStart = findContent(archive, members, "home/big");
  const cut = archive.subarray(0, bigStart + 500_000);
  await assert.rejects(
    consume(cut),
    (e: unknown) => e instanceof TarFormatError && /ends/.test(e.message),
  );
  await assert.rejects(skipBodies(cut), TarFormatError);
  // Cut inside a header block, and inside a pax extended header.
  await assert.rejects(skipBodies(archive.subarray(0, 512 + 300)), TarFormatError);
  const pax = buildArchive([{ entry: members[8].entry, content: members[8].content }]);
  await assert.rejects(skipBodies(pax.subarray(0, 600)), TarFormatError);
  // Ends right after a pax header.
  await assert.rejects(
    skipBodies(concatBytes([pax.subarray(0, 1024), new Uint8Array(1024)])),
    TarFormatError,
  );
  // A pax record whose stated length is wrong (checksum fixed so only the record is bad).
  const badRecord = pax.slice();
  badRecord[512] = "9".charCodeAt(0);
  badRecord[513] = "9".charCodeAt(0);
  await assert.rejects(
    skipBodies(badRecord),
    (e: unknown) => e instanceof TarFormatError && /pax/.test(e.message),
  );
  // A malformed numeric field.
  const badMode = archive.slice();
  badMode.set(utf8.encode("x"), 100);
  fixChecksum(badMode, 0);
  await assert.rejects(skipBodies(badMode), TarFormatError);
});

Deno.test("readTar rejects a negative size at once instead of stepping back over read bytes", async () => {
  const file = (path: string, size: number): Member => ({
    entry: { path, type: "file", size, mode: 0o644, mtime: 1 },
    content: randomBytes(size, size),
  });
  const withPax = buildArchive([file("ü/" + "p".repeat(120), 5), file("b", 3)]);
  assert.equal(String.fromCharCode(withPax[156]), "x", "starts with a pax extended header");
  const plain = buildArchive([file("a", 1000), file("b", 3)]);
  const negativeSize = (archive: Uint8Array, size: number) => {
    const out = archive.slice();
    setBase256(out, 124, 12, size);
    fixChecksum(out, 0);
    return out;
  };
  const hostile: [string, Uint8Array][] = [
    ["-512 on a pax header", negativeSize(withPax, -512)],
    ["-512 on a file", negativeSize(plain, -512)],
    ["-16 on a file", negativeSize(plain, -16)],
  ];
  // Whole (as a volume's decoder hands it over) and in small chunks; bodies read or not.
  const cases = hostile.flatMap(([what, bytes]) =>
    ([[1 << 20, 1 << 20], [1, 700]] as [number, number][]).flatMap((chunkSizes) =>
      (["read", "skip", "cancel"] as const).map((bodies) => ({
        what: `${what}, chunks of ${chunkSizes.join(" to ")} bytes, bodies ${bodies}`,
        bytes,
        chunkSeed: 1,
        chunkSizes,
        bodies,
      }))
    )
  );
  // In a worker, so that a reader looping for ever fails the test instead of hanging it.
  const outcomes = await parseInWorker(cases, 5000);
  for (const [i, outcome] of outcomes.entries()) {
    const what = `${cases[i].what}: ${JSON.stringify(outcome)}`;
    assert.equal(outcome.error?.name, "TarFormatError", what);
    assert.match(outcome.error.message, /^Malformed TAR archive: negative size -\d+$/, what);
    assert.equal(outcome.entries, 0, what);
  }
});

Deno.test("readTar rejects bad pax times in one-line messages that quote the value", async () => {
  const withPaxMtime = (mtime: string) => {
    const records = new TextEncoder().encode(paxRecord("mtime", mtime));
    const paxHeader = encodeTarHeader({
      path: "PaxHeaders/a",
      type: "file",
      size: records.length,
      mode: 0o644,
      mtime: 1,
    });
    paxHeader[156] = "x".charCodeAt(0);
    fixChecksum(paxHeader, 0);
    return concatBytes([
      paxHeader,
      records,
      new Uint8Array(tarPaddingLength(records.length)),
      buildArchive([{ entry: { path: "a", type: "file", size: 0, mode: 0o644, mtime: 1 } }]),
    ]);
  };
  const rejects = (mtime: string, message: string) =>
    assert.rejects(
      readMembers(chunkedStream(withPaxMtime(mtime))),
      (e: unknown) => e instanceof TarFormatError && e.message === message,
    );
  // Too large for a number of seconds (it was read as Infinity).
  await rejects(
    "9".repeat(400),
    `Malformed TAR archive: pax mtime "${"9".repeat(40)}..." is out of range`,
  );
  // Control characters from the archive stay escaped, so the message is one line.
  await rejects("1\n\x1b[2J", 'Malformed TAR archive: bad pax mtime "1\\n\\u001b[2J"');
});

/** Offset of the content of `path` in an archive built from `members`. */
function findContent(archive: Uint8Array, members: Member[], path: string): number {
  let offset = 0;
  for (const { entry } of members) {
    offset += encodeTarHeader(entry).length;
    if (entry.path === path) return offset;
    if (entry.type === "file") offset += Math.ceil(entry.size / 512) * 512;
  }
  throw new Error(`${path} not in archive of ${archive.length} bytes`);
}

Deno.test("readTar takes a header checksum summed over unsigned or signed bytes, and no other", async () => {
  // A name in UTF-8 (bytes of 0x80 and more), where the two sums differ.
  const archive = buildArchive([{
    entry: { path: "données/été.txt", type: "file", size: 0, mode: 0o644, mtime: 1 },
  }]);
  const header = archive.subarray(0, 512);
  const high = [...header].filter((byte, i) => byte >= 0x80 && (i < 148 || i >= 156)).length;
  assert.ok(high > 0, "test setup: bytes of 0x80 and more");
  fixChecksum(archive, 0);
  const unsigned = parseInt(new TextDecoder().decode(header.subarray(148, 154)), 8);
  const withChecksum = (sum: number) => {
    const copy = archive.slice();
    copy.set(utf8.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    return copy;
  };
  for (const sum of [unsigned, unsigned - 0x100 * high]) {
    const members = await readMembers(chunkedStream(withChecksum(sum)));
    assert.deepEqual(members.map((m) => m.entry.path), ["données/été.txt"]);
  }
  for (const sum of [unsigned + 1, unsigned - 0x100 * high - 1, unsigned - 0x100]) {
    await assert.rejects(
      readMembers(chunkedStream(withChecksum(sum))),
      (e: unknown) => e instanceof TarFormatError && /checksum/.test(e.message),
    );
  }
});
