/**
 * The folder storage: the shared conformance suite, key safety, access checks, and atomic writes
 * (a failed or killed write never leaves a partial object visible).
 */

import { fileUrlOf } from "../../lib/storage/file_url.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLocalStorage, keyProblem } from "../../lib/storage/local.ts";
import { storageConformance } from "./conformance.ts";
import { collect, legacyUpload, readAll, rejectsWithKind } from "./helpers.ts";
import { needsPosixModes, skipOnWindows, where } from "../../testing/platform.ts";
import { withTempFolder } from "../../testing/sandbox.ts";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();

/** Runs `body` with a fresh temp folder, removed afterwards. */
const inTempFolder = (body: (folder: string) => Promise<void>) =>
  withTempFolder("glacier-local-storage-", body);

/** Every file name under `folder`, recursively, relative and `/`-separated. */
async function filesUnder(folder: string, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    if (entry.isDirectory) {
      names.push(...await filesUnder(join(folder, entry.name), `${prefix}${entry.name}/`));
    } else names.push(`${prefix}${entry.name}`);
  }
  return names.sort();
}

/** True when `folder` holds a temp file of a write in progress. */
async function hasTempFile(folder: string): Promise<boolean> {
  for await (const entry of Deno.readDir(folder)) {
    if (entry.name.startsWith(".glacier-tmp-")) return true;
  }
  return false;
}

Deno.test("local storage conformance", async (t) => {
  const folders: string[] = [];
  try {
    await storageConformance(t, async () => {
      const folder = await Deno.makeTempDir({ prefix: "glacier-local-storage-" });
      folders.push(folder);
      return createLocalStorage(folder);
    });
  } finally {
    for (const folder of folders) await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("local storage rejects keys that escape the folder or use reserved names", async () => {
  await inTempFolder(async (folder) => {
    const storage = createLocalStorage(join(folder, "root"));
    await Deno.mkdir(join(folder, "root"));
    const bad = [
      "../outside",
      "a/../../outside",
      "/etc/passwd",
      "a//b",
      "a/./b",
      "",
      "trailing/",
      "a\\..\\b",
      ".glacier-uploads/x",
      "C:/windows",
    ];
    for (const key of bad) {
      await rejectsWithKind(storage.putObject(key, encoder.encode("x"), "STANDARD"), "permanent");
      await rejectsWithKind(storage.getObject(key), "permanent", /invalid key/);
      await rejectsWithKind(storage.headObject(key), "permanent");
      await rejectsWithKind(storage.putFile(key, join(folder, "source"), "STANDARD"), "permanent");
      assert.ok(keyProblem(key), key);
    }
    assert.deepEqual(await filesUnder(folder), [], "nothing was written anywhere");
    await rejectsWithKind(collect(storage.listObjects("../")), "permanent");
    assert.equal(keyProblem("20250101_120000/000001_out.tar.zst.age"), undefined);
    assert.equal(keyProblem("a/..b/c.."), undefined);
  });
});

Deno.test("local storage checkAccess needs an existing folder", async () => {
  await inTempFolder(async (folder) => {
    await rejectsWithKind(
      createLocalStorage(join(folder, "missing")).checkAccess(),
      "permanent",
      /does not exist/,
    );
    await Deno.writeTextFile(join(folder, "file"), "x");
    await rejectsWithKind(
      createLocalStorage(join(folder, "file")).checkAccess(),
      "permanent",
      /not a folder/,
    );
    await createLocalStorage(folder).checkAccess();
    assert.deepEqual(await filesUnder(folder), ["file"], "the write test leaves nothing behind");
  });
});

Deno.test("local storage: description is a file URL and restore is a no-op", async () => {
  await inTempFolder(async (folder) => {
    const storage = createLocalStorage(folder);
    assert.equal(storage.description, fileUrlOf(folder)); // file:///C:/x on Windows
    await storage.putObject("cold", encoder.encode("cold"), "DEEP_ARCHIVE");
    await storage.restoreObject("cold", 3, "Standard");
    assert.equal((await storage.headObject("cold"))?.restore, undefined);
    assert.equal(new TextDecoder().decode(await readAll(await storage.getObject("cold"))), "cold");
  });
});

Deno.test("local storage keeps its bookkeeping out of listings", async () => {
  await inTempFolder(async (folder) => {
    const storage = createLocalStorage(folder);
    await legacyUpload(folder, "0123abcd", "v/one");
    await storage.putObject("v/two", encoder.encode("two"), "DEEP_ARCHIVE");
    await Deno.writeTextFile(join(folder, "v", ".glacier-tmp-0123abcd"), "left by a crash");
    assert.deepEqual((await collect(storage.listObjects(""))).map((o) => o.key), ["v/two"]);
    assert.equal(await storage.headObject("v/one"), undefined);
  });
});

/** Every path under `folder` (files and folders), with its permission bits. */
async function modesUnder(folder: string): Promise<Map<string, number>> {
  const modes = new Map<string, number>();
  for await (const entry of Deno.readDir(folder)) {
    const path = join(folder, entry.name);
    modes.set(path, (await Deno.stat(path)).mode! & 0o777);
    if (entry.isDirectory) { for (const [p, m] of await modesUnder(path)) modes.set(p, m); }
  }
  return modes;
}

Deno.test(where(needsPosixModes(), {
  name: "local storage writes files 0600 and makes folders 0700, whatever the source's mode",
  fn: async () => {
    await inTempFolder(async (folder) => {
      const storage = createLocalStorage(folder);
      await storage.putObject("b/catalog", encoder.encode("every path in clear"), "STANDARD");
      await storage.putObject("b/vol1", encoder.encode("one"), "DEEP_ARCHIVE");
      const source = await Deno.makeTempFile({ prefix: "glacier-mode-source-" });
      await Deno.writeTextFile(source, "copied in");
      await Deno.chmod(source, 0o644);
      await storage.putFile("b/vol2", source, "GLACIER").finally(() => Deno.remove(source));

      const modes = await modesUnder(folder);
      for (
        const name of [
          "b/catalog",
          "b/vol2",
          ".glacier-meta/b/vol1",
          ".glacier-meta/b/vol2",
        ]
      ) {
        assert.ok(modes.has(join(folder, name)), `${name} is there`);
      }
      for (const [path, mode] of modes) {
        const expected = (await Deno.stat(path)).isDirectory ? 0o700 : 0o600;
        assert.equal(mode.toString(8), expected.toString(8), path);
      }
    });
  },
}));

Deno.test(where(skipOnWindows("glacier copies there: a private file is not told by its mode"), {
  name: "local storage: a private file on the same file system goes in as a link, not a copy",
  fn: async () => {
    await inTempFolder(async (folder) => {
      const storage = createLocalStorage(join(folder, "bucket"));
      await Deno.mkdir(join(folder, "bucket"));
      const source = join(folder, "000001_backup.tar.zst.age");
      await Deno.writeTextFile(source, "volume bytes", { mode: 0o600 });
      await storage.putFile("b/vol1", source, "STANDARD");
      const [local, stored] = [Deno.statSync(source), Deno.statSync(join(folder, "bucket/b/vol1"))];
      assert.equal(stored.ino, local.ino, "one file, two names: no byte was copied");
      assert.equal(stored.mode! & 0o777, 0o600);
      // Put again (a run killed before it removed its local file): nothing is left behind.
      await storage.putFile("b/vol1", source, "STANDARD");
      assert.deepEqual(await filesUnder(join(folder, "bucket")), ["b/vol1"]);
      await Deno.remove(source);
      assert.equal(
        new TextDecoder().decode(await readAll(await storage.getObject("b/vol1"))),
        "volume bytes",
      );

      // A source others may read is copied: its own mode stays, the object's is 0600.
      const shared = join(folder, "shared");
      await Deno.writeTextFile(shared, "shared bytes");
      await Deno.chmod(shared, 0o644);
      await storage.putFile("b/vol2", shared, "STANDARD");
      assert.notEqual(Deno.statSync(join(folder, "bucket/b/vol2")).ino, Deno.statSync(shared).ino);
      assert.equal(Deno.statSync(shared).mode! & 0o777, 0o644);
    });
  },
}));

Deno.test("local storage: a put whose source file is gone fails for good and leaves the old object", async () => {
  await inTempFolder(async (folder) => {
    const storage = createLocalStorage(join(folder, "bucket"));
    await Deno.mkdir(join(folder, "bucket"));
    await storage.putObject("vol", encoder.encode("old complete object"), "STANDARD");
    await rejectsWithKind(
      storage.putFile("vol", join(folder, "missing"), "STANDARD"),
      "permanent",
      /is gone/,
    );
    assert.equal(
      new TextDecoder().decode(await readAll(await storage.getObject("vol"))),
      "old complete object",
    );
    assert.deepEqual(await filesUnder(join(folder, "bucket")), ["vol"], "no temp file is left");
  });
});

Deno.test("local storage: a writer killed mid-write leaves no partial object", async () => {
  await inTempFolder(async (folder) => {
    const size = 48 * MiB;
    const moduleUrl = new URL("../../lib/storage/local.ts", import.meta.url).href;
    const script = `
      import { createLocalStorage } from ${JSON.stringify(moduleUrl)};
      const storage = createLocalStorage(${JSON.stringify(folder)});
      const body = new Uint8Array(${size});
      for (let round = 1; ; round++) {
        body.fill(round % 251);
        console.log("writing " + round);
        await storage.putObject("big/object.bin", body, "DEEP_ARCHIVE");
      }
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", script],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("writing 2")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    // Kill it while a temp file shows a write in progress (or after a while, at worst).
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(await hasTempFile(join(folder, "big")))) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();

    assert.ok(seen.includes("writing 2"), `the writer did not get going: ${seen}`);
    const storage = createLocalStorage(folder);
    const listed = await collect(storage.listObjects(""));
    assert.deepEqual(listed.map((o) => o.key), ["big/object.bin"], "only whole objects are listed");
    const head = await storage.headObject("big/object.bin");
    assert.equal(head?.size, size);
    const bytes = await readAll(await storage.getObject("big/object.bin"));
    assert.equal(bytes.length, size);
    assert.ok(bytes.every((byte) => byte === bytes[0]), "the object is one whole round");
  });
});

Deno.test("local storage: a put removes the emulated multipart uploads of its key that older versions left", async () => {
  await inTempFolder(async (folder) => {
    const storage = createLocalStorage(folder);
    await legacyUpload(folder, "aa01", "b/000001_v.tar");
    await legacyUpload(folder, "aa02", "b/000001_v.tar");
    await legacyUpload(folder, "bb01", "b/catalog.sqlite3");
    const source = join(folder, "source");
    await Deno.writeTextFile(source, "volume");
    await storage.putFile("b/000001_v.tar", source, "DEEP_ARCHIVE");
    assert.deepEqual(
      (await filesUnder(join(folder, ".glacier-uploads"))).filter((n) => n.endsWith(".json")),
      ["bb01/upload.json"],
      "only the other key's upload is left",
    );
    await storage.putObject("b/catalog.sqlite3", encoder.encode("copy"), "STANDARD");
    await assert.rejects(Deno.stat(join(folder, ".glacier-uploads")), Deno.errors.NotFound);
    assert.deepEqual((await collect(storage.listObjects("b/"))).map((o) => o.key), [
      "b/000001_v.tar",
      "b/catalog.sqlite3",
    ]);
  });
});
