import assert from "node:assert/strict";
import { join } from "node:path";
import {
  encodeTarHeader,
  paxRecord,
  TAR_END_OF_ARCHIVE,
  TarEncodeError,
  type TarEntry,
  tarPaddingLength,
} from "../../lib/archive/tar_header.ts";
import { buildArchive, type Member, randomBytes, run } from "./tar_test_helpers.ts";
import { needs, where } from "../../testing/platform.ts";

const decoder = new TextDecoder();
const utf8 = new TextEncoder();

function field(block: Uint8Array, offset: number, length: number): string {
  const bytes = block.subarray(offset, offset + length);
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function octal(block: Uint8Array, offset: number, length: number): number {
  return parseInt(field(block, offset, length).trim() || "0", 8);
}

function checksumOk(block: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return octal(block, 148, 8) === sum;
}

/** The pax records of an encoded header that starts with an 'x' member. */
function paxRecords(header: Uint8Array): Map<string, string> {
  assert.equal(String.fromCharCode(header[156]), "x");
  const size = octal(header, 124, 12);
  const text = decoder.decode(header.subarray(512, 512 + size));
  const records = new Map<string, string>();
  let rest = utf8.encode(text);
  while (rest.length > 0) {
    const space = rest.indexOf(0x20);
    const length = Number(decoder.decode(rest.subarray(0, space)));
    const record = decoder.decode(rest.subarray(space + 1, length));
    assert.ok(record.endsWith("\n"), "pax record ends with a newline at its stated length");
    const equals = record.indexOf("=");
    records.set(record.slice(0, equals), record.slice(equals + 1, -1));
    rest = rest.subarray(length);
  }
  return records;
}

const base: TarEntry = {
  path: "home/me/a.txt",
  type: "file",
  size: 5,
  mode: 0o644,
  mtime: 1700000000,
};

Deno.test("tarPaddingLength pads to 512-byte blocks", () => {
  assert.equal(tarPaddingLength(0), 0);
  assert.equal(tarPaddingLength(1), 511);
  assert.equal(tarPaddingLength(511), 1);
  assert.equal(tarPaddingLength(512), 0);
  assert.equal(tarPaddingLength(513), 511);
  assert.equal(tarPaddingLength(8 ** 11 + 3), 509);
  assert.equal(TAR_END_OF_ARCHIVE.length, 1024);
  assert.ok(TAR_END_OF_ARCHIVE.every((byte) => byte === 0));
});

Deno.test("a plain entry is one ustar block with correct fields and checksum", () => {
  const header = encodeTarHeader({ ...base, uid: 1000, gid: 100, uname: "me", gname: "users" });
  assert.equal(header.length, 512);
  assert.equal(field(header, 0, 100), "home/me/a.txt");
  assert.equal(octal(header, 100, 8), 0o644);
  assert.equal(octal(header, 108, 8), 1000);
  assert.equal(octal(header, 116, 8), 100);
  assert.equal(octal(header, 124, 12), 5);
  assert.equal(octal(header, 136, 12), 1700000000);
  assert.equal(String.fromCharCode(header[156]), "0");
  assert.deepEqual([...header.subarray(257, 265)], [...utf8.encode("ustar\u000000")]);
  assert.equal(field(header, 265, 32), "me");
  assert.equal(field(header, 297, 32), "users");
  assert.ok(checksumOk(header));
});

Deno.test("a reused scratch block gets the same header bytes, with nothing left of the last", () => {
  const scratch = new Uint8Array(512);
  const long = { ...base, path: "a".repeat(120), uname: "someone", linkName: undefined };
  const entries: TarEntry[] = [
    { ...base, path: "x/" + "long-name-".repeat(9), uid: 1000, uname: "a-long-user-name" },
    { ...base, path: "b", type: "symlink", size: 0, linkName: "target" },
    { ...base, path: "c" },
    long,
    { ...base, path: "d", mode: 0o600 },
  ];
  for (const entry of entries) {
    const fresh = encodeTarHeader(entry);
    const reused = encodeTarHeader(entry, scratch);
    assert.deepEqual(reused, fresh);
    // A plain header is the scratch block itself; one with a pax header is a new buffer.
    assert.equal(reused === scratch, fresh.length === 512);
  }
});

Deno.test("directories get a trailing slash and type 5; symlinks type 2 with size 0", () => {
  const dir = encodeTarHeader({
    path: "home/me",
    type: "directory",
    size: 0,
    mode: 0o755,
    mtime: 1,
  });
  assert.equal(field(dir, 0, 100), "home/me/");
  assert.equal(String.fromCharCode(dir[156]), "5");
  const root = encodeTarHeader({ path: "", type: "directory", size: 0, mode: 0o755, mtime: 1 });
  assert.equal(field(root, 0, 100), "./");
  const link = encodeTarHeader({
    path: "home/me/l",
    type: "symlink",
    size: 99,
    mode: 0o777,
    mtime: 1,
    linkName: "../x",
  });
  assert.equal(link.length, 512);
  assert.equal(String.fromCharCode(link[156]), "2");
  assert.equal(field(link, 157, 100), "../x");
  assert.equal(octal(link, 124, 12), 0, "size of a symlink is always 0");
  assert.ok(checksumOk(dir) && checksumOk(root) && checksumOk(link));
});

Deno.test("a long ASCII path that splits at a '/' uses the ustar prefix, not pax", () => {
  const path = "p".repeat(150) + "/" + "n".repeat(99);
  const header = encodeTarHeader({ ...base, path });
  assert.equal(header.length, 512);
  assert.equal(field(header, 345, 155), "p".repeat(150));
  assert.equal(field(header, 0, 100), "n".repeat(99));
  // Exactly 100 bytes in the name needs no NUL terminator.
  const exact = encodeTarHeader({ ...base, path: "x".repeat(100) });
  assert.equal(exact.length, 512);
  assert.equal(field(exact, 0, 100), "x".repeat(100));
  // A directory's trailing '/' never leaves an empty name.
  const dir = encodeTarHeader({
    ...base,
    type: "directory",
    path: "a".repeat(30) + "/" + "d".repeat(98),
  });
  assert.equal(dir.length, 512);
  assert.equal(field(dir, 345, 155), "a".repeat(30));
  assert.equal(field(dir, 0, 100), "d".repeat(98) + "/");
  // With no usable '/', the path goes to pax.
  const unsplittable = encodeTarHeader({
    ...base,
    type: "directory",
    path: "a/" + "d".repeat(120),
  });
  assert.ok(unsplittable.length > 512);
});

Deno.test("a pax header is added exactly when ustar cannot hold the entry", () => {
  const cases: [string, Partial<TarEntry>, Record<string, string>][] = [
    ["long single component", { path: "d/" + "n".repeat(150) }, { path: "d/" + "n".repeat(150) }],
    ["path over 256 bytes", { path: "a/".repeat(150) + "f" }, { path: "a/".repeat(150) + "f" }],
    ["non-ASCII path", { path: "Ünïcødé/日本語.txt" }, { path: "Ünïcødé/日本語.txt" }],
    ["size of 8 GiB", { size: 8 ** 11 }, { size: String(8 ** 11) }],
    ["uid too big", { uid: 8 ** 7 }, { uid: String(8 ** 7) }],
    ["gid too big", { gid: 3000000 }, { gid: "3000000" }],
    ["negative mtime", { mtime: -86400 }, { mtime: "-86400" }],
    ["mtime past 11 octal digits", { mtime: 8 ** 11 }, { mtime: String(8 ** 11) }],
    ["long uname", { uname: "u".repeat(32) }, { uname: "u".repeat(32) }],
    ["non-ASCII gname", { gname: "grüppe" }, { gname: "grüppe" }],
    [
      "long link target",
      { type: "symlink", size: 0, linkName: "t".repeat(101) },
      { linkpath: "t".repeat(101) },
    ],
    ["non-ASCII link target", { type: "symlink", size: 0, linkName: "ü" }, { linkpath: "ü" }],
  ];
  for (const [name, change, expected] of cases) {
    const header = encodeTarHeader({ ...base, ...change });
    assert.ok(header.length > 512, `${name}: pax header expected`);
    assert.equal(header.length % 512, 0, name);
    assert.deepEqual(Object.fromEntries(paxRecords(header)), expected, name);
    const ustar = header.subarray(header.length - 512);
    assert.ok(checksumOk(header.subarray(0, 512)) && checksumOk(ustar), `${name}: checksums`);
    assert.equal(
      field(header, 0, 100),
      "PaxHeaders/" + (change.path ?? base.path).split("/").pop()!.slice(0, 89),
    );
  }
  const fits: Partial<TarEntry>[] = [
    { size: 8 ** 11 - 1 },
    { uid: 8 ** 7 - 1, gid: 8 ** 7 - 1 },
    { mtime: 0 },
    { mtime: 8 ** 11 - 1 },
    { uname: "u".repeat(31) },
    { type: "symlink", size: 0, linkName: "t".repeat(100) },
  ];
  for (const change of fits) {
    assert.equal(encodeTarHeader({ ...base, ...change }).length, 512, JSON.stringify(change));
  }
});

Deno.test("the checksum, added up field by field, equals the sum of the whole block", () => {
  // Sizes around 2^32 cross from the 32-bit octal digits to the wide ones.
  const changes: Partial<TarEntry>[] = [
    {},
    { size: 0, mode: 0 },
    { size: 2 ** 32 - 1 },
    { size: 2 ** 32 },
    { size: 2 ** 32 + 7 },
    { size: 8 ** 11 - 1, mtime: 8 ** 11 - 1, uid: 8 ** 7 - 1, gid: 8 ** 7 - 1, mode: 0o7777 },
    { path: "a/".repeat(60) + "f" },
    { path: "d/" + "n".repeat(150) },
    { path: "Ünïcødé/日本語.txt" },
    { path: "x".repeat(100) },
    { type: "directory", size: 0, path: "p/".repeat(40) + "q" },
    { type: "hardlink", size: 0, linkName: "home/me/first" },
    { type: "symlink", size: 0, linkName: "ü".repeat(80) },
    { uname: "me", gname: "staff" },
    { uname: "u".repeat(40), gname: "grüppe", mtime: -1 },
  ];
  for (const change of changes) {
    const header = encodeTarHeader({ ...base, ...change });
    // The first block is the pax or the ustar header, the last the ustar header.
    const first = header.subarray(0, 512);
    const last = header.subarray(header.length - 512);
    assert.ok(checksumOk(first) && checksumOk(last), JSON.stringify(change));
  }
});

Deno.test("pax record lengths count their own digits across digit-count boundaries", () => {
  for (let valueLength = 0; valueLength < 1100; valueLength++) {
    for (const value of ["v".repeat(valueLength), "é".repeat(valueLength >> 1)]) {
      const record = paxRecord("path", value);
      const bytes = utf8.encode(record);
      assert.equal(Number(record.slice(0, record.indexOf(" "))), bytes.length, record.slice(0, 12));
      assert.ok(record.endsWith("\n"));
    }
  }
  assert.equal(paxRecord("path", "a"), "9 path=a\n");
  assert.equal(paxRecord("path", "ab"), "11 path=ab\n");
});

Deno.test("invalid entries are refused with TarEncodeError", () => {
  assert.throws(() => encodeTarHeader({ ...base, mode: 0o10000 }), TarEncodeError);
  assert.throws(() => encodeTarHeader({ ...base, size: -1 }), TarEncodeError);
  assert.throws(() => encodeTarHeader({ ...base, size: 1.5 }), TarEncodeError);
  assert.throws(() => encodeTarHeader({ ...base, uid: -1 }), TarEncodeError);
  assert.throws(() => encodeTarHeader({ ...base, mtime: 1.5 }), TarEncodeError);
  assert.throws(() => encodeTarHeader({ ...base, type: "symlink", size: 0 }), TarEncodeError);
});

/** The archive used by the GNU tar extraction test. */
function sampleMembers(): Member[] {
  const now = Math.floor(Date.now() / 1000);
  const members: Member[] = [];
  const dir = (path: string, mode = 0o755, mtime = 1600000000) =>
    members.push({ entry: { path, type: "directory", size: 0, mode, mtime } });
  const file = (path: string, content: Uint8Array, mode = 0o644, mtime = now, extra = {}) =>
    members.push({
      entry: { path, type: "file", size: content.length, mode, mtime, ...extra },
      content,
    });
  const link = (path: string, linkName: string, mtime = 1500000000) =>
    members.push({ entry: { path, type: "symlink", size: 0, mode: 0o777, mtime, linkName } });

  const longDir = "top/" + ["a", "b", "c", "d"].map((c) => c.repeat(60)).join("/");
  const longComponent = "top/" + "n".repeat(150);
  dir("top");
  file("top/empty.txt", new Uint8Array(0), 0o600, 1700000000);
  file("top/block.bin", randomBytes(512, 1), 0o600, 315532800);
  file("top/odd.bin", randomBytes(1000, 2), 0o640, 0);
  file("top/big.bin", randomBytes(300_000, 3), 0o644, now);
  file("top/run.sh", utf8.encode("#!/bin/sh\necho hi\n"), 0o755, 946684800);
  file("top/setuid", utf8.encode("x"), 0o4755, 1000000000);
  file("top/before-1970.txt", utf8.encode("old"), 0o644, -86400);
  dir("top/emptydir", 0o700, 1234567890);
  dir("top/x");
  dir("top/x/y");
  dir("top/x/y/z", 0o750);
  file("top/x/y/z/deep.txt", utf8.encode("deep"));
  link("top/rel-link", "odd.bin");
  link("top/abs-link", "/etc/hostname");
  link("top/long-link", "l".repeat(150) + "/target", 1400000000);
  link("top/dangling-ü", "nowhere/ü");
  dir("top/Ünïcødé");
  file("top/Ünïcødé/日本語.txt", utf8.encode("こんにちは"), 0o644, 1600000001);
  for (let i = 1; i <= longDir.split("/").length - 1; i++) {
    dir(longDir.split("/").slice(0, i + 1).join("/"));
  }
  file(longDir + "/f".padEnd(250 - longDir.length, "f"), utf8.encode("250"));
  dir(longComponent);
  file(longComponent + "/" + "m".repeat(150), utf8.encode("150+150"));
  file("top/big-uid", utf8.encode("owner"), 0o644, now, { uid: 3000000, gid: 2500000 });
  return members;
}

Deno.test(
  where(
    needs("tar"),
    "GNU tar extracts what the encoder writes: bytes, modes, mtimes, symlinks",
    async () => {
      const members = sampleMembers();
      const paths = members.map((m) => m.entry.path);
      assert.ok(paths.some((p) => p.length === 250), "a 250-character path is included");
      const dir = await Deno.makeTempDir({ prefix: "tar_header_test_" });
      try {
        const archive = join(dir, "out.tar");
        await Deno.writeFile(archive, buildArchive(members));
        const dest = join(dir, "x");
        await Deno.mkdir(dest);
        await run("tar", ["-xpf", archive, "-C", dest]);
        for (const { entry, content } of members) {
          const where = join(dest, entry.path);
          const info = await Deno.lstat(where);
          assert.equal(info.mtime!.getTime() / 1000, entry.mtime, `mtime of ${entry.path}`);
          if (entry.type === "symlink") {
            assert.ok(info.isSymlink, `${entry.path} is a symlink`);
            assert.equal(await Deno.readLink(where), entry.linkName);
            continue;
          }
          assert.equal(info.mode! & 0o7777, entry.mode, `mode of ${entry.path}`);
          if (entry.type === "directory") {
            assert.ok(info.isDirectory, `${entry.path} is a directory`);
          } else {
            assert.ok(info.isFile, `${entry.path} is a file`);
            assert.deepEqual(await Deno.readFile(where), content, `content of ${entry.path}`);
          }
          if (Deno.uid() === 0) {
            assert.equal(info.uid, entry.uid ?? 0, `uid of ${entry.path}`);
            assert.equal(info.gid, entry.gid ?? 0, `gid of ${entry.path}`);
          }
        }
        const names = (await run("tar", ["-tf", archive, "--quoting-style=literal"])).stdout;
        const expected = members.map((m) =>
          m.entry.path + (m.entry.type === "directory" ? "/" : "")
        );
        assert.deepEqual(names.trimEnd().split("\n"), expected);
        const listing = (await run("tar", [
          "-tvf",
          archive,
          "--numeric-owner",
          "--full-time",
          "--quoting-style=literal",
        ])).stdout.split("\n");
        const line = (path: string) => listing.find((l) => l.endsWith(" " + path)) ?? "";
        assert.match(line("top/setuid"), /^-rwsr-xr-x 0\/0 +1 2001-09-09 01:46:40 top\/setuid$/);
        assert.match(line("top/big.bin"), /^-rw-r--r-- 0\/0 +300000 /);
        assert.match(line("top/big-uid"), /^-rw-r--r-- 3000000\/2500000 +5 /);
        assert.match(line("top/before-1970.txt"), / 1969-12-31 00:00:00 top\/before-1970.txt$/);
        assert.ok(
          listing.some((l) => l.endsWith(" top/long-link -> " + "l".repeat(150) + "/target")),
          "long symlink target listed",
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  ),
);

Deno.test(where(needs("tar"), "GNU tar reads a pax size of 8 GiB and more", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tar_header_test_" });
  try {
    const archive = join(dir, "huge.tar");
    // Header only: tar lists the member, then reports the missing content.
    await Deno.writeFile(archive, encodeTarHeader({ ...base, size: 9 * 2 ** 30 }));
    const listing = await run("tar", ["-tvf", archive], { allowFailure: true });
    assert.match(listing.stdout, / 9663676416 .* home\/me\/a\.txt\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}));
