/**
 * `--include` typed in one Unicode normal form finds names stored in the other (macOS writes
 * names in NFD, most keyboards type NFC), for restore and for estimate alike; the restored file
 * keeps the name it was stored under.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { BackupEstimate } from "../../lib/pricing/backup_estimate.ts";
import { runCli } from "../../testing/run_cli.ts";
import { withFolderBucket } from "./helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";

const NFC_NAME = "cr\u00e8me.txt";
const NFD_NAME = NFC_NAME.normalize("NFD");

Deno.test("--include in NFC finds an NFD name and the other way round (restore, estimate)", async () => {
  await withFolderBucket(async ({ root, src, backup, restore }) => {
    await Deno.mkdir(join(src, "accents"));
    // The same visible name twice would be one file on macOS; here each folder holds one form.
    await Deno.mkdir(join(src, "accents", "nfd"));
    await Deno.mkdir(join(src, "accents", "nfc"));
    await Deno.writeTextFile(join(src, "accents", "nfd", NFD_NAME), "stored in NFD");
    await Deno.writeTextFile(join(src, "accents", "nfc", NFC_NAME), "stored in NFC");
    const stateDb = await backup();
    const cases = [
      { folder: "nfd", typed: NFC_NAME, stored: NFD_NAME },
      { folder: "nfc", typed: NFD_NAME, stored: NFC_NAME },
    ];
    for (const { folder, typed, stored } of cases) {
      const pattern = join(src, "accents", folder, typed);
      const estimate = await runCli(["estimate", stateDb, "--include", pattern, "--json"]);
      assert.equal(estimate.code, 0, estimate.stderr);
      assert.equal((JSON.parse(estimate.stdout) as BackupEstimate).restore.entries, 1, folder);

      const dest = join(root, `restored-${folder}`);
      const result = await restore([stateDb, "--to", dest, "--include", pattern]);
      assert.equal(result.code, 0, result.stderr);
      const restored = join(dest, archivePath(src), "accents", folder);
      const names = [...Deno.readDirSync(restored)].map((e) => e.name);
      assert.deepEqual(names, [stored], "the stored name, byte for byte");
      assert.equal(
        await Deno.readTextFile(join(restored, stored)),
        `stored in ${folder.toUpperCase()}`,
      );
    }
  });
});
