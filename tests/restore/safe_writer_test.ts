/**
 * The restore writer never writes outside its folder: unsafe entry paths are refused, symlinks
 * (made by the restore or found in place) are never written through, existing entries are left
 * alone without --overwrite and replaced (never followed) with it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertEntryPath,
  entrySegments,
  RestoreWriter,
  STAGING_DIR_NAME,
  UnsafePathError,
} from "../../lib/restore/safe_writer.ts";
import { needsPosixModes, needsSymlinks, where } from "../../testing/platform.ts";

const text = (s: string) => ReadableStream.from([new TextEncoder().encode(s)]);
const bytes = (s: string) => new TextEncoder().encode(s);
const meta = (s: string, mtime = 1_600_000_000) => ({ size: s.length, mode: 0o640, mtime });

async function withDirs(fn: (dest: string, outside: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "glacier-writer-test-" });
  const dest = join(root, "dest");
  const outside = join(root, "outside");
  await Deno.mkdir(outside);
  try {
    await fn(dest, outside);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("entry paths that could leave the folder are refused", () => {
  for (
    const path of [
      "../escape",
      "a/../../escape",
      "a/..",
      "/etc/passwd",
      "a//b",
      "./a",
      "a/./b",
      "",
      "a\0b",
      `${STAGING_DIR_NAME}/x`,
      STAGING_DIR_NAME,
      ".",
      "..",
      "a/.",
      "a/",
      "/",
    ]
  ) {
    assert.throws(() => entrySegments(path), UnsafePathError, path);
    assert.throws(() => assertEntryPath(path), UnsafePathError, path);
  }
  assert.deepEqual(entrySegments("home/me/..dots../f..txt"), ["home", "me", "..dots..", "f..txt"]);
  for (const path of ["...", ".a/b.", `${STAGING_DIR_NAME}x/y`, `a/${STAGING_DIR_NAME}`]) {
    assertEntryPath(path);
  }
});

Deno.test("an unsafe path is refused by every writing method and nothing is written", async () => {
  await withDirs(async (dest, outside) => {
    const writer = await RestoreWriter.open(dest, { overwrite: true });
    const escape = `../outside/escaped`;
    await assert.rejects(writer.file(escape, text("x"), meta("x")), UnsafePathError);
    assert.throws(() => writer.symlink(escape, "/etc"), UnsafePathError);
    assert.throws(() => writer.directory(escape), UnsafePathError);
    assert.throws(() => writer.setFolderAttributes("../outside", 0o777, 0), UnsafePathError);
    assert.equal(await exists(join(outside, "escaped")), false);
    assert.deepEqual([...Deno.readDirSync(outside)], []);
  });
});

Deno.test(
  where(needsSymlinks(), "a symlink the restore made is never written through", async () => {
    await withDirs(async (dest, outside) => {
      const writer = await RestoreWriter.open(dest, { overwrite: true });
      assert.deepEqual(writer.symlink("a/link", outside), { kind: "written" });
      const through = await writer.file("a/link/passwd", text("owned"), meta("owned"));
      assert.equal(through.kind, "blocked");
      const deeper = await writer.directory("a/link/sub");
      assert.equal(deeper.kind, "blocked");
      assert.deepEqual([...Deno.readDirSync(outside)], []);
      assert.equal(await Deno.readLink(join(dest, "a/link")), outside);
    });
  }),
);

Deno.test(
  where(
    needsSymlinks(),
    "a symlink found in the folder is replaced with --overwrite, never followed",
    async () => {
      await withDirs(async (dest, outside) => {
        await Deno.mkdir(dest);
        const victim = join(outside, "victim.txt");
        await Deno.writeTextFile(victim, "precious");
        await Deno.symlink(victim, join(dest, "file.txt"));
        await Deno.symlink(outside, join(dest, "dir"));

        const careful = await RestoreWriter.open(dest, { overwrite: false });
        assert.equal(
          (await careful.file("file.txt", text("new"), meta("new"))).kind,
          "exists",
        );
        assert.equal((await careful.file("dir/x", text("new"), meta("new"))).kind, "blocked");

        const bold = await RestoreWriter.open(dest, { overwrite: true });
        assert.equal((await bold.file("file.txt", text("new"), meta("new"))).kind, "written");
        assert.equal((await bold.file("dir/x", text("new"), meta("new"))).kind, "blocked");
        assert.equal(await Deno.readTextFile(victim), "precious");
        assert.equal(await exists(join(outside, "x")), false);
        const replaced = await Deno.lstat(join(dest, "file.txt"));
        assert.ok(replaced.isFile && !replaced.isSymlink);
        assert.equal(await Deno.readTextFile(join(dest, "file.txt")), "new");
        assert.equal(replaced.mode! & 0o777, 0o640);
        assert.equal(replaced.mtime!.getTime(), 1_600_000_000_000);
      });
    },
  ),
);

Deno.test("a resumed restore accepts what an earlier run wrote, in the folders that run made", async () => {
  await withDirs(async (dest) => {
    // The earlier run: made folder "a" and wrote a/f, then stopped.
    const earlier = await RestoreWriter.open(dest, { overwrite: false });
    assert.equal((await earlier.file("a/f", text("one"), meta("one"))).kind, "written");
    // The resumed run did not make "a": what is in it is looked at before anything is written.
    const resumed = await RestoreWriter.open(dest, { overwrite: false });
    const again = { acceptIdentical: true };
    assert.equal((await resumed.file("a/f", text("one"), meta("one"), again)).kind, "identical");
    assert.equal((await resumed.file("a/f", text("two"), meta("two", 5), again)).kind, "exists");
    assert.equal(await Deno.readTextFile(join(dest, "a/f")), "one");
    // A folder the resumed run makes holds only its own files: they are written, whole.
    assert.equal((await resumed.file("b/g", text("new"), meta("new"), again)).kind, "written");
    resumed.fileSync("b/h", new TextEncoder().encode("small"), meta("small"), again);
    assert.equal(await Deno.readTextFile(join(dest, "b/g")), "new");
    assert.equal(await Deno.readTextFile(join(dest, "b/h")), "small");
    assert.equal((await Deno.stat(join(dest, "b/g"))).mtime!.getTime(), 1_600_000_000_000);
  });
});

Deno.test("a folder entry is made where nothing is, kept where a folder is, and never goes over a file unless --overwrite", async () => {
  await withDirs(async (dest) => {
    await Deno.mkdir(join(dest, "there"), { recursive: true });
    await Deno.writeTextFile(join(dest, "there", "inside.txt"), "kept");
    await Deno.writeTextFile(join(dest, "file"), "precious");
    const writer = await RestoreWriter.open(dest, { overwrite: false });
    assert.deepEqual(writer.directory("new"), { kind: "written" });
    assert.ok((await Deno.lstat(join(dest, "new"))).isDirectory);
    assert.deepEqual(writer.directory("there"), { kind: "identical" });
    assert.equal(await Deno.readTextFile(join(dest, "there", "inside.txt")), "kept");
    assert.equal(writer.directory("file").kind, "blocked");
    assert.equal(await Deno.readTextFile(join(dest, "file")), "precious");

    const bold = await RestoreWriter.open(dest, { overwrite: true });
    assert.deepEqual(bold.directory("file"), { kind: "written" });
    assert.ok((await Deno.lstat(join(dest, "file"))).isDirectory);
  });
});

Deno.test(
  where(
    needsSymlinks(),
    "a folder entry never goes through or over a symlink without --overwrite",
    async () => {
      await withDirs(async (dest, outside) => {
        await Deno.mkdir(dest);
        await Deno.symlink(outside, join(dest, "link"));
        await Deno.symlink("/nonexistent/target", join(dest, "dangling"));
        const writer = await RestoreWriter.open(dest, { overwrite: false });
        for (const name of ["link", "dangling"]) {
          assert.equal(writer.directory(name).kind, "blocked", name);
          assert.ok((await Deno.lstat(join(dest, name))).isSymlink, name);
        }
        const bold = await RestoreWriter.open(dest, { overwrite: true });
        assert.deepEqual(bold.directory("link"), { kind: "written" });
        const made = await Deno.lstat(join(dest, "link"));
        assert.ok(made.isDirectory && !made.isSymlink);
        assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing was made through the link");
      });
    },
  ),
);

Deno.test("existing entries are left alone unless --overwrite; folders are never replaced", async () => {
  await withDirs(async (dest) => {
    // A folder that was there before the restore (see below for one the restore makes).
    await Deno.mkdir(join(dest, "d"), { recursive: true });
    const first = await RestoreWriter.open(dest, { overwrite: false });
    assert.equal((await first.file("d/f", text("one"), meta("one"))).kind, "written");
    assert.equal((await first.directory("d/sub")).kind, "written");
    assert.equal((await first.file("d/f", text("two"), meta("two"))).kind, "exists");
    assert.equal(
      (await first.file("d/f", text("one"), meta("one"), { acceptIdentical: true })).kind,
      "identical",
    );
    assert.equal(
      (await first.file("d/f", text("two"), meta("two", 5), { acceptIdentical: true })).kind,
      "exists",
    );
    assert.equal(await Deno.readTextFile(join(dest, "d/f")), "one");

    const second = await RestoreWriter.open(dest, { overwrite: true });
    assert.equal((await second.file("d/f", text("two"), meta("two"))).kind, "written");
    assert.equal(await Deno.readTextFile(join(dest, "d/f")), "two");
    assert.equal((await second.file("d/sub", text("x"), meta("x"))).kind, "blocked");
    assert.equal(second.symlink("d/sub", "/").kind, "blocked");
    assert.ok((await Deno.lstat(join(dest, "d/sub"))).isDirectory);
  });
});

Deno.test(where(needsSymlinks(), {
  name: "a link is never made over a name that is taken, unless --overwrite",
  fn: async () => {
    await withDirs(async (dest) => {
      const writer = await RestoreWriter.open(dest, { overwrite: false });
      assert.equal((await writer.file("f", text("one"), meta("one"))).kind, "written");
      assert.equal((await writer.file("other", text("two"), meta("two"))).kind, "written");
      assert.equal(writer.directory("sub").kind, "written");
      assert.equal(writer.hardlink("g", "f").kind, "written");
      assert.equal((await Deno.stat(join(dest, "f"))).nlink, 2);
      // Names taken by another file, a folder, the same file, or a symlink.
      assert.equal(writer.hardlink("other", "f").kind, "exists");
      assert.equal(writer.hardlink("sub", "f").kind, "exists");
      assert.equal(writer.hardlink("g", "f").kind, "exists");
      assert.equal(writer.hardlink("g", "f", { acceptIdentical: true }).kind, "identical");
      assert.equal(writer.symlink("other", "f").kind, "exists");
      assert.equal(writer.symlink("sub", "f").kind, "exists");
      assert.equal(writer.symlink("link", "f").kind, "written");
      assert.equal(writer.symlink("link", "other").kind, "exists");
      assert.equal(writer.symlink("link", "f", { acceptIdentical: true }).kind, "identical");
      assert.equal(await Deno.readTextFile(join(dest, "other")), "two");
      assert.ok((await Deno.lstat(join(dest, "sub"))).isDirectory);
      assert.equal(await Deno.readLink(join(dest, "link")), "f");

      const overwriting = await RestoreWriter.open(dest, { overwrite: true });
      assert.equal(overwriting.hardlink("other", "f").kind, "written");
      assert.equal(await Deno.readTextFile(join(dest, "other")), "one");
      assert.equal(overwriting.symlink("link", "other").kind, "written");
      assert.equal(await Deno.readLink(join(dest, "link")), "other");
      assert.equal(overwriting.symlink("sub", "f").kind, "blocked");
      assert.equal(overwriting.hardlink("sub", "f").kind, "blocked");
      assert.ok((await Deno.lstat(join(dest, "sub"))).isDirectory);
    });
  },
}));

Deno.test("in a folder the restore made, a file is renamed into place; a folder there stays", async () => {
  await withDirs(async (dest) => {
    const writer = await RestoreWriter.open(dest, { overwrite: false });
    assert.equal((await writer.directory("new")).kind, "written");
    assert.equal(writer.fileSync("new/f", bytes("one"), meta("one")).kind, "written");
    assert.equal(writer.fileSync("made/on/the/way", bytes("two"), meta("two")).kind, "written");
    assert.equal(await Deno.readTextFile(join(dest, "new/f")), "one");
    assert.equal(await Deno.readTextFile(join(dest, "made/on/the/way")), "two");
    assert.equal((await Deno.stat(join(dest, "new/f"))).nlink, 1, "no second name left");
    // Only this run's own entries can be in such a folder: a folder of its own is never
    // replaced by a file, and the part file goes.
    assert.equal((await writer.directory("new/sub")).kind, "written");
    assert.equal(writer.fileSync("new/sub", bytes("x"), meta("x")).kind, "exists");
    assert.ok((await Deno.lstat(join(dest, "new/sub"))).isDirectory);
    assert.deepEqual([...Deno.readDirSync(join(dest, STAGING_DIR_NAME))], []);
  });
});

Deno.test(
  where(
    [needsSymlinks(), needsPosixModes()],
    "folder attributes are set last and only on real folders",
    async () => {
      await withDirs(async (dest, outside) => {
        const writer = await RestoreWriter.open(dest, { overwrite: false });
        await writer.directory("top");
        await writer.file("top/f", text("x"), meta("x"));
        writer.symlink("link", outside);
        const when = Date.UTC(2001, 1, 2, 3, 4, 5);
        assert.equal(writer.setFolderAttributes("top", 0o555, when), true);
        assert.equal(writer.setFolderAttributes("link", 0o700, when), false);
        assert.equal(writer.setFolderAttributes("missing/x", 0o700, when), false);
        const info = await Deno.stat(join(dest, "top"));
        assert.equal(info.mode! & 0o777, 0o555);
        assert.equal(info.mtime!.getTime(), when);
        assert.notEqual((await Deno.stat(outside)).mode! & 0o777, 0o700);
        assert.equal(await exists(join(dest, "missing")), false);
        await Deno.chmod(join(dest, "top"), 0o755);
      });
    },
  ),
);

Deno.test(where(needsPosixModes(), {
  name: "a whole body gets its mode, even bits the umask cuts, and its mtime",
  fn: async () => {
    await withDirs(async (dest) => {
      const writer = await RestoreWriter.open(dest, { overwrite: false });
      const bytes = new TextEncoder().encode("whole");
      for (const [name, mode] of [["plain", 0o644], ["open", 0o777], ["locked", 0o400]] as const) {
        const outcome = await writer.file(
          name,
          bytes,
          { size: 5, mode, mtime: 1_500_000_000 },
        );
        assert.equal(outcome.kind, "written");
        const info = await Deno.lstat(join(dest, name));
        assert.equal(info.mode! & 0o7777, mode, `${name} has mode ${mode.toString(8)}`);
        assert.equal(info.mtime!.getTime(), 1_500_000_000_000);
        assert.equal(await Deno.readTextFile(join(dest, name)), "whole");
      }
    });
  },
}));

Deno.test("a file stored without the owner's write bit comes back read-only, on Windows too", async () => {
  await withDirs(async (dest) => {
    const writer = await RestoreWriter.open(dest, { overwrite: false });
    const modes = [["read-only", 0o444], ["owner-only", 0o400], ["writable", 0o644]] as const;
    const bodies = [["streamed", () => text("data")], [
      "whole",
      () => new TextEncoder().encode("data"),
    ]] as const;
    for (const [name, mode] of modes) {
      for (const [kind, body] of bodies) {
        const path = `${name}-${kind}`;
        const outcome = await writer.file(path, body(), { ...meta("data"), mode });
        assert.equal(outcome.kind, "written");
        const info = await Deno.lstat(join(dest, path));
        assert.equal((info.mode! & 0o200) === 0, (mode & 0o200) === 0, `${path}: ${info.mode}`);
      }
    }
    // A second restore with --overwrite replaces them, read-only or not.
    const again = await RestoreWriter.open(dest, { overwrite: true });
    for (const [name, mode] of modes) {
      const path = `${name}-whole`;
      const outcome = await again.file(path, text("new"), { ...meta("new"), mode });
      assert.equal(outcome.kind, "written");
      assert.equal(await Deno.readTextFile(join(dest, path)), "new");
      assert.equal(
        ((await Deno.lstat(join(dest, path))).mode! & 0o200) === 0,
        (mode & 0o200) === 0,
      );
    }
    for await (const entry of Deno.readDir(dest)) {
      if (entry.isFile) await Deno.chmod(join(dest, entry.name), 0o644); // Windows deletes no read-only file
    }
  });
});

Deno.test(where(
  needsSymlinks(),
  "without --overwrite a file never goes over what is there, even a dangling symlink",
  async () => {
    await withDirs(async (dest) => {
      const writer = await RestoreWriter.open(dest, { overwrite: false });
      const bytes = (s: string) => new TextEncoder().encode(s);
      await Deno.symlink("/nonexistent/target", join(dest, "dangling"));
      await Deno.writeTextFile(join(dest, "kept.txt"), "old");
      await Deno.mkdir(join(dest, "folder"));
      // As a fresh restore, and as a resumed one, which accepts only an identical file (and
      // looks at a name without the look's error where nothing is: a dangling symlink is there).
      for (const options of [{}, { acceptIdentical: true }]) {
        for (const name of ["dangling", "kept.txt", "folder"]) {
          const sync = writer.fileSync(name, bytes("new"), meta("new"), options);
          assert.deepEqual(sync, { kind: "exists" }, name);
          const streamed = await writer.file(name, text("new"), meta("new"), options);
          assert.deepEqual(streamed, { kind: "exists" }, name);
        }
      }
      assert.equal(await Deno.readLink(join(dest, "dangling")), "/nonexistent/target");
      assert.equal(await Deno.readTextFile(join(dest, "kept.txt")), "old");
      const streamed = ReadableStream.from([bytes("stre"), bytes("amed")]);
      assert.deepEqual(await writer.file("new/s.txt", streamed, meta("streamed")), {
        kind: "written",
      });
      assert.deepEqual(writer.fileSync("new/w.txt", bytes("whole"), meta("whole")), {
        kind: "written",
      });
      assert.equal(await Deno.readTextFile(join(dest, "new", "s.txt")), "streamed");
      assert.equal(await Deno.readTextFile(join(dest, "new", "w.txt")), "whole");
      // Each file has its one name; no part file is left in the staging folder.
      assert.equal((await Deno.stat(join(dest, "new", "s.txt"))).nlink, 1);
      assert.equal((await Deno.stat(join(dest, "new", "w.txt"))).nlink, 1);
      assert.deepEqual([...Deno.readDirSync(writer.stagingDir)], []);
    });
  },
));
