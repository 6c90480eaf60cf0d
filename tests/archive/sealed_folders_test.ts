/**
 * Which folders are sealed (no one but this user or root can change their entries): the rule the
 * backup's quick path of packing relies on (lib/archive/sealed_folders.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SealedFolders } from "../../lib/archive/sealed_folders.ts";
import { skipIf, where } from "../../testing/platform.ts";
import { withTempFolder } from "../../testing/sandbox.ts";

const onLinux = Deno.build.os === "linux";
const asRoot = onLinux && Deno.uid() === 0;
/** A user id that is neither this user's nor root's. */
const STRANGER = 65534;

/** Runs `fn` in a new temporary folder (this user's, 0700, in the sticky /tmp). */
const inTempFolder = (fn: (root: string) => Promise<void>) => withTempFolder("glacier-sealed-", fn);

Deno.test(
  where(skipIf(!onLinux, "folders are taken as sealed on Linux only"), {
    name: "a folder is sealed only when nobody else can add, remove or rename its entries",
    fn: () =>
      // This user's temporary folder is pinned in the sticky /tmp: only its owner renames it.
      inTempFolder(async (root) => {
        const mine = join(root, "mine");
        await Deno.mkdir(join(mine, "inner"), { recursive: true, mode: 0o755 });
        const shared = join(root, "shared");
        await Deno.mkdir(join(shared, "inner"), { recursive: true });
        await Deno.chmod(shared, 0o775);
        const open = join(root, "open");
        await Deno.mkdir(open);
        await Deno.chmod(open, 0o1777);
        await Deno.mkdir(join(open, "inner"));
        await Deno.symlink(mine, join(root, "link"));

        const sealed = new SealedFolders();
        assert.equal(sealed.isSealed(root), true, "this user's folder in the sticky /tmp");
        assert.equal(sealed.isSealed(mine), true);
        assert.equal(sealed.isSealed(join(mine, "inner")), true);
        assert.equal(sealed.isSealed(shared), false, "its group may write");
        assert.equal(sealed.isSealed(join(shared, "inner")), false, "its group may rename it");
        assert.equal(sealed.isSealed(open), false, "anyone may write");
        // This user's folder in a sticky folder stays pinned: only its owner renames it.
        assert.equal(sealed.isSealed(join(open, "inner")), true);
        assert.equal(sealed.isSealed(join(root, "link")), false, "a symlink, not a folder");
        assert.equal(sealed.isSealed(join(root, "link", "inner")), false, "reached by a link");
        assert.equal(sealed.isSealed(join(root, "missing")), false);
        assert.equal(sealed.isSealed("/tmp"), false, "anyone may add entries to /tmp");
        assert.equal(sealed.isSealed("relative/path"), false);
        // Elsewhere, whatever the bits say, nothing is taken as sealed.
        assert.equal(new SealedFolders("darwin").isSealed(mine), false);
        assert.equal(new SealedFolders("windows").isSealed(mine), false);
      }),
  }),
);

Deno.test(
  where(skipIf(!asRoot, "giving a folder to another user takes root"), {
    name: "another user's folder is not sealed, and neither is anything inside it",
    fn: () =>
      inTempFolder(async (root) => {
        const theirs = join(root, "theirs");
        await Deno.mkdir(join(theirs, "mine"), { recursive: true, mode: 0o755 });
        await Deno.chown(theirs, STRANGER, STRANGER);
        await Deno.chmod(theirs, 0o755);
        // Theirs in the sticky /tmp: they may rename it, or swap what is inside.
        const inTmp = await Deno.makeTempDir({ prefix: "glacier-sealed-theirs-" });
        await Deno.chown(inTmp, STRANGER, STRANGER);
        try {
          const sealed = new SealedFolders();
          assert.equal(sealed.isSealed(theirs), false);
          assert.equal(sealed.isSealed(join(theirs, "mine")), false, "they may rename it");
          assert.equal(sealed.isSealed(inTmp), false);
        } finally {
          await Deno.remove(inTmp, { recursive: true });
        }
      }),
  }),
);
