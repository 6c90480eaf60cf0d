/** Volume names and object keys a catalog may hold (lib/catalog/volume_names.ts). */
import assert from "node:assert/strict";
import { volumeNameProblem } from "../../lib/archive/layout.ts";
import { volumeNamingProblem } from "../../lib/catalog/volume_names.ts";

const SETTINGS = {
  compression: "zstd" as const,
  encrypt: true,
  baseName: "output.tar",
  prefix: "p",
  backupId: "20260101_000000",
};

Deno.test("volume names the program makes pass; path-like or malformed ones are refused", () => {
  for (const good of ["000001_output.tar.zst.age", "000012_backup.tar", "1234567_out.gz"]) {
    assert.equal(volumeNameProblem(good), undefined, good);
  }
  for (
    const bad of [
      "../../X",
      "000001_../../X",
      "000001_a/b.tar",
      "000001_..\\..\\X",
      "000001_a\0.tar",
      "000001_a\n.tar",
      "..",
      "",
      "output.tar",
      "01_output.tar",
    ]
  ) {
    assert.ok(volumeNameProblem(bad), JSON.stringify(bad));
  }
});

Deno.test("a catalog's volumes must bear the name and key its settings give them", () => {
  const volume = (id: number, name: string, objectKey = `p/20260101_000000/${name}`) => ({
    id,
    name,
    objectKey,
  });
  const good = [volume(1, "000001_output.tar.zst.age"), volume(2, "000002_output.tar.zst.age")];
  assert.equal(volumeNamingProblem(SETTINGS, good), undefined);
  assert.match(
    volumeNamingProblem(SETTINGS, [good[0], volume(2, "../../X")])!,
    /volume named "\.\.\/\.\.\/X"/,
  );
  // A safe name, but not the one of that number or these settings.
  assert.match(
    volumeNamingProblem(SETTINGS, [volume(1, "000002_output.tar.zst.age")])!,
    /where volume 1 is "000001_output\.tar\.zst\.age"/,
  );
  assert.match(
    volumeNamingProblem({ ...SETTINGS, baseName: "../../X" }, [
      volume(1, "000001_../../X.zst.age"),
    ])!,
    /path separator/,
  );
  // The right name at another key.
  assert.match(
    volumeNamingProblem(SETTINGS, [volume(1, good[0].name, "p/other/000001_output.tar.zst.age")])!,
    /object key "p\/other\//,
  );
});
