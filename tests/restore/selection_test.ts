/** The restore's --include / --exclude patterns, as the README documents them. */
import assert from "node:assert/strict";
import { compileSelection } from "../../lib/restore/selection.ts";

const paths = [
  "home/me/docs",
  "home/me/docs/a.txt",
  "home/me/docs/old/b.jpg",
  "home/me/photos/c.jpg",
  "home/me/photos/cache/d.jpg",
  "home/you/docs/e.txt",
];

function selected(include: string[], exclude: string[] = []): string[] {
  const selection = compileSelection(include, exclude);
  return paths.filter((path) => selection.matches(path));
}

Deno.test("no pattern selects everything", () => {
  assert.deepEqual(selected([]), paths);
  assert.equal(compileSelection([], []).everything, true);
});

Deno.test("a plain path, absolute or not, selects that folder and everything below", () => {
  const expected = ["home/me/docs", "home/me/docs/a.txt", "home/me/docs/old/b.jpg"];
  assert.deepEqual(selected(["home/me/docs"]), expected);
  assert.deepEqual(selected(["/home/me/docs/"]), expected);
  assert.deepEqual(selected(["/home/me/doc"]), []);
});

Deno.test("globs match the whole path; a name pattern matches anywhere", () => {
  assert.deepEqual(selected(["**/*.jpg"]), [
    "home/me/docs/old/b.jpg",
    "home/me/photos/c.jpg",
    "home/me/photos/cache/d.jpg",
  ]);
  assert.deepEqual(selected(["home/*/docs"]), [
    "home/me/docs",
    "home/me/docs/a.txt",
    "home/me/docs/old/b.jpg",
    "home/you/docs/e.txt",
  ]);
  assert.deepEqual(selected(["*.txt"]), ["home/me/docs/a.txt", "home/you/docs/e.txt"]);
});

Deno.test("an exclude wins over an include and takes a folder's contents with it", () => {
  assert.deepEqual(selected(["home/me"], ["cache", "**/docs/old"]), [
    "home/me/docs",
    "home/me/docs/a.txt",
    "home/me/photos/c.jpg",
  ]);
  assert.notEqual(compileSelection(["a"], []).key, compileSelection([], ["a"]).key);
});

Deno.test("patterns match names in either Unicode normal form (NFC typed, NFD from macOS)", () => {
  const nfc = "home/me/caf\u00e9/cr\u00e8me.txt";
  const nfd = nfc.normalize("NFD");
  assert.notEqual(nfc, nfd);
  for (const pattern of ["home/me/café", "crème.txt", "**/caf?/*.txt", "/home/me/café/"]) {
    for (const form of ["NFC", "NFD"] as const) {
      const selection = compileSelection([pattern.normalize(form)], []);
      assert.ok(selection.matches(nfc), `${form} ${pattern} on the NFC name`);
      assert.ok(selection.matches(nfd), `${form} ${pattern} on the NFD name`);
      assert.ok(!compileSelection([], [pattern.normalize(form)]).matches(nfd), "--exclude too");
    }
  }
});

Deno.test("Windows and macOS: --include and --exclude ignore case, drive letter included", () => {
  const windowsPaths = [
    "C/Users/Me/Docs/a.TXT",
    "C/Users/Me/Photos/b.jpg",
    "D/Users/Me/Docs/c.txt",
  ];
  for (const os of ["windows", "darwin"] as const) {
    const selection = compileSelection(["c:\\users\\me\\docs"], ["*.txt"], os);
    assert.deepEqual(windowsPaths.filter((p) => selection.matches(p)), [], os);
    const docs = compileSelection(["c:/USERS/me/docs", "**/*.JPG"], [], os);
    assert.deepEqual(windowsPaths.filter((p) => docs.matches(p)), windowsPaths.slice(0, 2), os);
  }
  const linux = compileSelection(["c:/USERS/me/docs", "**/*.JPG"], [], "linux");
  assert.deepEqual(windowsPaths.filter((p) => linux.matches(p)), []);
});
