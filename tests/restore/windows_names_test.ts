/**
 * Names Windows cannot hold (`:`, `\`, device names) or would change (a trailing dot or space):
 * on Windows a restore skips and lists each such wanted entry and restores the rest of its
 * volume; an entry left out by the patterns does not matter. Elsewhere they are ordinary names.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { buildVolume } from "../../lib/backup/build_volume.ts";
import { type EntryProblem, extractVolume } from "../../lib/restore/extract_volume.ts";
import { RestoreWriter } from "../../lib/restore/safe_writer.ts";
import { compileSelection } from "../../lib/restore/selection.ts";
import { unwritableNameReason, unwritablePathReason } from "../../lib/restore/windows_names.ts";
import { makeSandbox } from "../../testing/sandbox.ts";
import { plannedCatalog } from "../backup/helpers.ts";

Deno.test("unwritableNameReason names what Windows refuses or changes, and nothing elsewhere", () => {
  const refused: [string, RegExp][] = [
    ["co:lon.txt", /":"/],
    ["back\\slash.txt", /"\\\\"/],
    ["what?.txt", /"\?"/],
    ["pipe|d", /"\|"/],
    ["tab\there", /"\\t"/],
    ["NUL", /device name/],
    ["con.txt", /device name/],
    ["Com1", /device name/],
    ["lpt9.log", /device name/],
    ["trailing.", /trailing dot/],
    ["trailing space ", /trailing space/],
    ["...", /trailing dot/],
  ];
  for (const [name, reason] of refused) {
    assert.match(unwritableNameReason(name, "windows") ?? "", reason, name);
    for (const os of ["linux", "darwin"] as const) {
      assert.equal(unwritableNameReason(name, os), undefined, `${name} on ${os}`);
    }
  }
  for (const name of ["CONSOLE", "nul-not.txt", "com10", ".hidden", "a.b.c", "ümlaut 日本"]) {
    assert.equal(unwritableNameReason(name, "windows"), undefined, name);
  }
  assert.match(unwritablePathReason(["ok", "bad:", "x"], "windows") ?? "", /":"/);
  assert.equal(unwritablePathReason(["ok", "fine.txt"], "windows"), undefined);
});

/** Archive names the catalog gives the source files (Windows itself cannot make them). */
const RENAMED: Record<string, string> = {
  "a.txt": "co:lon.txt",
  "b.txt": "back\\slash.txt",
  "c.txt": "trailing.",
  "d.txt": "trailing space ",
  "e.txt": "NUL",
  "f.txt": "left:out-by-exclude.txt",
};

Deno.test("a restore skips and lists names Windows cannot take, and restores the rest", async () => {
  const box = await makeSandbox("glacier-names-");
  await Deno.mkdir(join(box.src, "dir"));
  for (const name of [...Object.keys(RENAMED), "zz_after.txt"]) {
    await Deno.writeTextFile(join(box.src, "dir", name), name);
  }
  const catalog = await plannedCatalog(box.root, box.src, { workDir: box.root });
  try {
    const dir = `${archivePath(box.src)}/dir`;
    const db = new DatabaseSync(join(box.root, "state.sqlite3"));
    for (const [from, to] of Object.entries(RENAMED)) {
      db.prepare("UPDATE files SET archive_path = ? WHERE archive_path = ?")
        .run(`${dir}/${to}`, `${dir}/${from}`);
    }
    db.close();
    const { path } = await buildVolume(catalog, catalog.settings(), catalog.volume(1), []);
    const dest = join(box.root, "restored");
    const problems: EntryProblem[] = [];
    await extractVolume({
      catalog,
      volume: catalog.volume(1),
      path,
      compression: "none",
      encrypted: false,
      identities: [],
      selection: compileSelection([], ["*by-exclude*"]),
      writer: await RestoreWriter.open(dest, { overwrite: false }),
      acceptIdentical: false,
      onProblem: (problem) => problems.push(problem),
    });
    assert.equal(await Deno.readTextFile(join(dest, dir, "zz_after.txt")), "zz_after.txt");
    const wanted = Object.values(RENAMED).filter((name) => !name.includes("exclude"));
    if (Deno.build.os === "windows") {
      assert.deepEqual(
        problems.map((p) => [p.kind, p.path.slice(dir.length + 1)]).sort(),
        wanted.map((name) => ["blocked", name]).sort(),
      );
      for (const problem of problems) assert.match(problem.message, /Windows/);
      assert.deepEqual(
        [...Deno.readDirSync(join(dest, dir))].map((entry) => entry.name),
        ["zz_after.txt"],
      );
    } else {
      assert.deepEqual(problems, []);
      for (const [from, to] of Object.entries(RENAMED)) {
        if (wanted.includes(to)) assert.equal(await Deno.readTextFile(join(dest, dir, to)), from);
      }
    }
  } finally {
    catalog.close();
    await box.cleanup();
  }
});
