/** `glacier show`: the listing, the sums by folder, JSON, the header, and a very large catalog. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Catalog, type NewFile } from "../../lib/catalog/catalog.ts";
import { runCli } from "../../testing/run_cli.ts";
import { makeTree } from "../../testing/tree.ts";
import { backupToFolder, lines, readCatalog, sandbox, syntheticSettings } from "./helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { needsSymlinks, skipOnWindows, where } from "../../testing/platform.ts";

/** Regular files under `dir` (recursively, symlinks not followed): count and bytes. */
async function fileSums(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      const sub = await fileSums(path);
      files += sub.files;
      bytes += sub.bytes;
    } else if (entry.isFile) {
      files++;
      bytes += (await Deno.lstat(path)).size;
    }
  }
  return { files, bytes };
}

Deno.test(
  where(
    needsSymlinks(),
    "show lists every entry with size, time, volume and state under a header",
    async () => {
      const box = await sandbox();
      try {
        await makeTree(box.src, { smallFiles: 40, bigFiles: [900_000, 800_000] });
        const stateDb = await backupToFolder(box, "--volume-size", "1MiB");
        const { entries, volumes, backupId } = readCatalog(stateDb, (c) => ({
          entries: c.filesAfter(0, 1_000_000),
          volumes: c.volumes(),
          backupId: c.settings().backupId,
        }));
        assert.ok(volumes.length >= 2);
        const result = await runCli(["show", stateDb]);
        assert.equal(result.code, 0, result.stderr);
        const out = lines(result.stdout);

        assert.equal(out[0], `backup ${backupId}: complete`);
        const sums = await fileSums(box.src);
        const header = result.stdout.slice(0, result.stdout.indexOf("\n\n"));
        assert.match(header, new RegExp(`entries: +${sums.files} files \\(`));
        assert.match(header, /, 3 symlinks/);
        assert.match(header, new RegExp(`uploaded: +${volumes.length} volumes \\(`));
        assert.match(header, /pending: +0 volumes \(0 B\)/);
        assert.match(header, /DEEP_ARCHIVE|STANDARD/);

        const rows = out.filter((line) => / (stored|changed) +\S/.test(line));
        assert.equal(rows.length, entries.length, "one line per catalog entry");
        const src = archivePath(box.src);
        const hello = rows.find((line) => line.endsWith(` ${src}/hello.txt`));
        assert.ok(hello, "hello.txt is listed by its archive path");
        const helloRecord = entries.find((e) => e.archivePath === `${src}/hello.txt`)!;
        const helloVolume = volumes.find((v) => v.id === helloRecord.volumeId)!.name;
        assert.match(
          hello,
          new RegExp(`^ +15 B  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  ${helloVolume} +stored`),
        );
        assert.ok(rows.some((line) => line.endsWith(` ${src}/link-to-hello -> hello.txt`)));
        assert.ok(rows.some((line) => line.endsWith(` ${src}/empty-folder/`)));
        // Every volume appears in the listing.
        for (const v of volumes) {
          assert.ok(rows.some((line) => line.includes(` ${v.name} `)), v.name);
        }
      } finally {
        await box.cleanup();
      }
    },
  ),
);

Deno.test("show --collate sums files and bytes by folder, N path levels deep", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src, { smallFiles: 30 });
    const stateDb = await backupToFolder(box);
    const all = await fileSums(box.src);
    const src = archivePath(box.src); // tmp/glacier-manage-XXXX/src
    const parent = src.slice(0, src.lastIndexOf("/"));

    // One level up is the sandbox folder (tmp/NAME on Linux, C/users/NAME/Temp/NAME on Windows),
    // the source folder's own level the source folder: one line each.
    const levels = src.split("/").length;
    for (const [depth, folder] of [[levels - 1, parent], [levels, src]] as const) {
      const result = await runCli(["show", "--collate", String(depth), stateDb]);
      assert.equal(result.code, 0, result.stderr);
      const body = lines(result.stdout.slice(result.stdout.indexOf("\n\n")));
      assert.match(body[0], /SIZE +FILES +FOLDER/);
      assert.equal(body.length, 2, result.stdout);
      const [size, files, name] = body[1].trim().split(/ {2,}/);
      assert.equal(name, folder);
      assert.equal(Number(files.replaceAll(",", "")), all.files);
      assert.ok(size.endsWith("KiB") || size.endsWith("B"), size);
    }

    // One level more splits by the folders of the source; JSON gives exact bytes.
    const json = await runCli(["show", `--collate=${levels + 1}`, "--json", stateDb]);
    assert.equal(json.code, 0, json.stderr);
    const folders = JSON.parse(json.stdout) as {
      folder: string;
      files: number;
      bytes: number;
      notStored: number;
    }[];
    const byName = new Map(folders.map((f) => [f.folder, f]));
    assert.deepEqual(byName.get(`${src}/docs`), {
      folder: `${src}/docs`,
      ...(await fileSums(join(box.src, "docs"))),
      notStored: 0,
    });
    assert.deepEqual(byName.get(`${src}/many`)?.files, 30);
    assert.equal(byName.get(`${src}/many`)?.bytes, (await fileSums(join(box.src, "many"))).bytes);
    // Files directly in the source folder are summed under it.
    assert.equal(byName.get(src)?.files, 3); // hello.txt, empty.bin, exactly512.bin
    assert.equal(folders.reduce((n, f) => n + f.files, 0), all.files);
    assert.equal(folders.reduce((n, f) => n + f.bytes, 0), all.bytes);
    assert.deepEqual(folders.map((f) => f.folder), [...byName.keys()].sort());
  } finally {
    await box.cleanup();
  }
});

Deno.test(where(needsSymlinks(), "show --json prints one array with every entry", async () => {
  const box = await sandbox();
  try {
    await makeTree(box.src);
    const stateDb = await backupToFolder(box, "--compression", "gzip");
    const entries = readCatalog(stateDb, (c) => c.filesAfter(0, 1_000_000));
    const result = await runCli(["show", "--json", stateDb]);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as Record<string, unknown>[];
    assert.equal(parsed.length, entries.length);
    const src = archivePath(box.src);
    const hello = parsed.find((e) => e.path === `${src}/hello.txt`)!;
    assert.equal(hello.type, "file");
    assert.equal(hello.size, 15);
    assert.equal(hello.sourcePath, join(box.src, "hello.txt"));
    assert.equal(hello.state, "stored");
    assert.match(hello.volume as string, /^000001_.*\.tar\.gz\.age$/);
    const mtime = (await Deno.stat(join(box.src, "hello.txt"))).mtime!;
    assert.equal(
      Math.floor(Date.parse(hello.mtime as string) / 1000),
      Math.floor(mtime.getTime() / 1000),
    );
    const link = parsed.find((e) => e.path === `${src}/dangling-link`)!;
    assert.equal(link.type, "symlink");
    assert.equal(link.linkTarget, "/nonexistent/target");
    const old = parsed.find((e) => e.path === `${src}/old/ancient.txt`)!;
    assert.equal(old.mtime, "1999-12-31T23:59:58.000Z");

    // An empty catalog is still one valid array.
    const emptyDb = join(box.root, "empty.sqlite3");
    Catalog.create(emptyDb, syntheticSettings(), { recipients: [] }).close();
    const empty = await runCli(["show", "--json", emptyDb]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.deepEqual(JSON.parse(empty.stdout), []);
  } finally {
    await box.cleanup();
  }
}));

Deno.test("show streams a catalog of 200,000 files in a small, fixed heap", async () => {
  const box = await sandbox();
  try {
    const stateDb = join(box.root, "big.sqlite3");
    const catalog = Catalog.create(stateDb, syntheticSettings(), { recipients: [] });
    const total = 200_000;
    for (let start = 0; start < total; start += 10_000) {
      const batch: NewFile[] = [];
      for (let n = start; n < start + 10_000; n++) {
        const path = `data/d${n % 1000}/s${n % 7}/file-${n}.txt`;
        batch.push({
          path: `/${path}`,
          archivePath: path,
          type: "file",
          size: n,
          mtimeMs: 1.7e12,
          mode: 0o644,
          linkTarget: null,
        });
      }
      catalog.insertFiles(batch);
    }
    catalog.close();
    // Loading the 200,000 rows at once does not fit in 32 MiB of heap; streaming them does.
    const env = { DENO_V8_FLAGS: "--max-old-space-size=32" };

    const text = await runCli(["show", stateDb], { env });
    assert.equal(text.code, 0, text.stderr.slice(0, 2000));
    assert.equal(lines(text.stdout).filter((l) => / pending +data\//.test(l)).length, total);

    const json = await runCli(["show", "--json", stateDb], { env });
    assert.equal(json.code, 0, json.stderr.slice(0, 2000));
    const parsed = JSON.parse(json.stdout) as { size: number }[];
    assert.equal(parsed.length, total);
    assert.equal(parsed[total - 1].size, total - 1);

    const collated = await runCli(["show", "--collate", "3", "--json", stateDb], { env });
    assert.equal(collated.code, 0, collated.stderr.slice(0, 2000));
    const folders = JSON.parse(collated.stdout) as { files: number; notStored: number }[];
    assert.equal(folders.length, 7000);
    assert.equal(folders.reduce((n, f) => n + f.files, 0), total);
    assert.equal(folders.reduce((n, f) => n + f.notStored, 0), total);
  } finally {
    await box.cleanup();
  }
});

Deno.test("show rejects a bad --collate and a missing state database", async () => {
  const box = await sandbox();
  try {
    const db = join(box.root, "db.sqlite3");
    Catalog.create(db, syntheticSettings(), { recipients: [] }).close();
    const bad = await runCli(["show", "--collate", "0", db]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: --collate must be a whole number/);
    const missing = await runCli(["show", join(box.root, "nope.sqlite3")]);
    assert.equal(missing.code, 2);
    assert.equal(lines(missing.stderr).length, 1);
  } finally {
    await box.cleanup();
  }
});

Deno.test(
  where(
    skipOnWindows("its file names cannot hold a newline or a terminal escape"),
    "show quotes names with a newline or a terminal escape; --json keeps them exact",
    async () => {
      const box = await sandbox();
      try {
        await Deno.writeTextFile(join(box.src, "a\nb"), "newline\n");
        await Deno.writeTextFile(join(box.src, "\x1b[31mred"), "escape\n");
        const stateDb = await backupToFolder(box);
        const src = archivePath(box.src);

        const text = await runCli(["show", stateDb]);
        assert.equal(text.code, 0, text.stderr);
        assert.ok(!text.stdout.includes("\x1b"), "no escape sequence reaches the terminal");
        const rows = lines(text.stdout);
        assert.ok(rows.some((line) => line.endsWith(` '${src}/a'$'\\n''b'`)), text.stdout);
        assert.ok(
          rows.some((line) => line.endsWith(` '${src}/'$'\\033''[31mred'`)),
          text.stdout,
        );
        assert.ok(!rows.includes("b"), "the newline does not start a line of its own");

        const json = await runCli(["show", stateDb, "--json"]);
        assert.equal(json.code, 0, json.stderr);
        const paths = (JSON.parse(json.stdout) as { path: string }[]).map((entry) => entry.path);
        assert.ok(paths.includes(`${src}/a\nb`));
        assert.ok(paths.includes(`${src}/\x1b[31mred`));
      } finally {
        await box.cleanup();
      }
    },
  ),
);
