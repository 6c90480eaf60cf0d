/**
 * The quick path of packing (volume_tar.ts `Packer`): a small file in a sealed folder is opened
 * without a look first and packed only when it is still the very file the scan saw. Whatever
 * happened to the files since the scan, a volume packed so holds exactly the bytes and outcomes
 * the careful path gives, and never a byte the scan did not see; a folder others may write into
 * is never taken that way (a FIFO swapped in would block the open).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type PackResults, RunPacker } from "../../lib/archive/volume_tar.ts";
import { SealedFolders } from "../../lib/archive/sealed_folders.ts";
import { volumeRecords } from "../../lib/backup/build_volume.ts";
import type { Catalog } from "../../lib/catalog/catalog.ts";
import { concatBytes } from "../../testing/bytes.ts";
import { skipIf, where } from "../../testing/platform.ts";
import { withTempFolder } from "../../testing/sandbox.ts";
import { plannedCatalog } from "./helpers.ts";

const onLinux = Deno.build.os === "linux";

/** Volume 1 packed by a packer taking `sealed`'s folders as sealed: its bytes and its results. */
function packVolume(
  catalog: Catalog,
  sealed: SealedFolders,
): { bytes: Uint8Array; results: PackResults } {
  const packer = new RunPacker(false, sealed);
  const records = volumeRecords(catalog, 1);
  const bytes = concatBytes([...packer.pack(records.files as Iterable<never>)]);
  return { bytes, results: packer.results };
}

/** Packs volume 1 both ways: quickly where it may, and with the careful path only. */
function packBothWays(catalog: Catalog) {
  return {
    quick: packVolume(catalog, new SealedFolders()),
    careful: packVolume(catalog, new SealedFolders("darwin")),
  };
}

/**
 * Makes a source folder `src` in a new temporary folder `root`, has `prepare` fill it, scans it
 * into a catalog planned as one volume, and runs `act`; then removes it all.
 */
function withScanned(
  prepare: (src: string, root: string) => Promise<void>,
  act: (catalog: Catalog, src: string, root: string) => Promise<void> | void,
): Promise<void> {
  return withTempFolder("glacier-quick-pack-", async (root) => {
    const src = join(root, "src");
    await Deno.mkdir(src);
    await prepare(src, root);
    const catalog = await plannedCatalog(root, src, { volumeSize: 1024 ** 3 });
    try {
      await act(catalog, src, root);
    } finally {
      catalog.close();
    }
  });
}

Deno.test(
  where(skipIf(!onLinux, "the quick path is taken on Linux only"), {
    name: "files packed the quick way come out as the careful way packs them",
    fn: () =>
      withScanned(async (src) => {
        await Deno.mkdir(join(src, "sub"));
        const sizes = [0, 1, 511, 512, 513, 4096, 256 * 1024, 256 * 1024 + 1];
        for (const [i, size] of sizes.entries()) {
          const path = join(src, i % 2 ? "sub" : "", `f${size}`);
          await Deno.writeFile(path, new Uint8Array(size).map((_, at) => (at * 7 + i) & 0xff));
          await Deno.chmod(path, [0o600, 0o644, 0o755, 0o4750][i % 4]);
        }
        await Deno.link(join(src, "sub", "f1"), join(src, "also-f1"));
        await Deno.symlink("sub/f1", join(src, "link"));
        assert.ok(new SealedFolders().isSealed(src), "the test's folder is sealed");
      }, (catalog) => {
        const { quick, careful } = packBothWays(catalog);
        assert.ok(quick.bytes.length > 256 * 1024 * 2);
        assert.deepEqual(quick.bytes, careful.bytes);
        assert.deepEqual(quick.results, careful.results);
      }),
  }),
);

Deno.test(
  where(skipIf(!onLinux, "the quick path is taken on Linux only"), {
    name: "a file changed or swapped since the scan is packed as the careful path packs it",
    fn() {
      const mtime = new Date("2024-01-02T03:04:05Z");
      const names = ["renewed", "to-secret", "grown", "shrunk", "touched", "gone", "kept"];
      return withScanned(async (src, root) => {
        for (const name of names) {
          await Deno.writeTextFile(join(src, name), `the ${name} file, as scanned`.padEnd(64));
          await Deno.utime(join(src, name), mtime, mtime);
        }
        await Deno.writeTextFile(join(root, "secret"), "S".repeat(64));
        await Deno.utime(join(root, "secret"), mtime, mtime);
      }, async (catalog, src, root) => {
        // Another file of the same size and times under the same name (a new inode).
        const renewed = join(root, "renewed");
        await Deno.writeTextFile(renewed, "a new file, of the same size and time".padEnd(64));
        await Deno.utime(renewed, mtime, mtime);
        await Deno.rename(renewed, join(src, "renewed"));
        // A symlink to a secret of the same size and times: the open would follow it.
        await Deno.remove(join(src, "to-secret"));
        await Deno.symlink(join(root, "secret"), join(src, "to-secret"));
        await Deno.writeTextFile(join(src, "grown"), "!", { append: true });
        await Deno.truncate(join(src, "shrunk"), 10);
        await Deno.utime(join(src, "touched"), new Date(), new Date());
        await Deno.remove(join(src, "gone"));

        const { quick, careful } = packBothWays(catalog);
        assert.deepEqual(quick.bytes, careful.bytes);
        assert.deepEqual(quick.results, careful.results);
        const text = new TextDecoder().decode(quick.bytes);
        assert.ok(!text.includes("S".repeat(64)), "the secret's bytes were packed");
        assert.ok(text.includes("a new file, of the same size and time"));
        assert.ok(text.includes("the kept file, as scanned"));
        // Every file but the one left as it was has an outcome of its own.
        assert.equal(quick.results.updates.length, names.length - 1);
      });
    },
  }),
);

Deno.test(
  where(skipIf(!onLinux, "FIFOs, and the quick path, are Linux's here"), {
    name: "a file swapped for a FIFO in a folder others may write into is not opened",
    fn: () =>
      withScanned(async (src) => {
        await Deno.chmod(src, 0o777);
        await Deno.writeTextFile(join(src, "pipe"), "a file when scanned");
      }, async (catalog, src) => {
        const pipe = join(src, "pipe");
        await Deno.remove(pipe);
        const made = await new Deno.Command("mkfifo", { args: [pipe] }).output();
        assert.ok(made.success);
        // Were the FIFO opened, the open would wait for a writer: this one comes after 3 s, so
        // that a wrong packer ends (and fails) instead of waiting for ever.
        const writer = new Deno.Command("sh", { args: ["-c", `sleep 3; echo late > "${pipe}"`] })
          .spawn();
        try {
          const started = performance.now();
          const quick = packVolume(catalog, new SealedFolders());
          assert.ok(performance.now() - started < 3000, "the FIFO was opened");
          const outcome = quick.results.updates.find((update) =>
            catalog.filesAfter(update.id - 1, 1)[0].path === pipe
          );
          assert.equal(outcome?.state, "vanished");
        } finally {
          writer.kill();
          await writer.status;
        }
      }),
  }),
);
