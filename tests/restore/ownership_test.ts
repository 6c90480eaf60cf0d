/**
 * Owners and special bits on restore, as `tar` does it: as root, entries get their stored owner
 * and group, and keep setuid, setgid and sticky; with `--no-same-owner`, or not as root, the
 * owner is the restoring user and those bits are dropped (a setuid program of an ordinary user
 * must not come back as a setuid program of root).
 */
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import {
  restoredMode,
  restoreLinkOwnerSync,
  restoreOwnerSync,
} from "../../lib/restore/ownership.ts";
import { type CliResult, glacierCommand } from "../../testing/run_cli.ts";
import { withFolderBucket } from "./helpers.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";
import { onWindows, skipIf, where } from "../../testing/platform.ts";

const AS_ROOT = Deno.build.os !== "windows" && Deno.uid() === 0;
const OWNER = { uid: 1234, gid: 4321 };
const NOBODY = 65534;

Deno.test("special bits are kept only when the owner was restored", () => {
  assert.equal(restoredMode(0o4755, true), 0o4755);
  assert.equal(restoredMode(0o4755, false), 0o755);
  assert.equal(restoredMode(0o3775, false), 0o775);
  assert.equal(restoredMode(0o7777, false), 0o777);
  assert.equal(restoredMode(0o644, false), 0o644);
  assert.equal(restoredMode(0o100644, true), 0o644, "file type bits never reach chmod");
});

Deno.test(
  where(
    skipIf(
      !AS_ROOT,
      onWindows ? "not on Windows: it has no POSIX owners" : "needs root, to give files owners",
    ),
    {
      name: "an owner id out of range, from a volume, is never given (chown's -1 keeps the owner)",
      fn: async () => {
        const dir = await Deno.makeTempDir();
        try {
          const file = join(dir, "f");
          const link = join(dir, "link");
          await Deno.writeTextFile(file, "x");
          await Deno.symlink("f", link);
          const owners = async () => [(await Deno.lstat(file)).uid, (await Deno.lstat(link)).uid];
          const before = await owners();
          for (const id of [-1, 0xffffffff, 2 ** 32, 1.5, NaN]) {
            const owner = { uid: id, gid: 0 };
            assert.equal(restoreOwnerSync(file, owner), false, `uid ${id}`);
            assert.equal(restoreLinkOwnerSync(link, owner), false, `uid ${id}`);
            assert.equal(restoreOwnerSync(file, { uid: 0, gid: id }), false, `gid ${id}`);
          }
          assert.deepEqual(await owners(), before);
          // In range, each gives its own entry: the file, or the symlink itself.
          assert.equal(restoreOwnerSync(file, OWNER), true);
          assert.equal(restoreLinkOwnerSync(link, { uid: NOBODY, gid: NOBODY }), true);
          assert.deepEqual(await owners(), [OWNER.uid, NOBODY]);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    },
  ),
);

/**
 * Adds `owned/` (setgid and sticky), `owned/tool` (setuid) and the symlink `owned/link`, all
 * owned by `OWNER`, to the source tree. The owner goes first: chown clears setuid and setgid.
 */
async function addOwnedEntries(src: string): Promise<void> {
  const folder = join(src, "owned");
  await Deno.mkdir(folder);
  await Deno.writeTextFile(join(folder, "tool"), "#!/bin/sh\necho hi\n");
  await Deno.chown(join(folder, "tool"), OWNER.uid, OWNER.gid);
  await Deno.chmod(join(folder, "tool"), 0o4755);
  await Deno.symlink("tool", join(folder, "link"));
  await fs.lchown(join(folder, "link"), OWNER.uid, OWNER.gid);
  await Deno.chown(folder, OWNER.uid, OWNER.gid);
  await Deno.chmod(folder, 0o3775);
}

/** Owner, group and permission bits of the restored `owned/` entries (symlinks not followed). */
async function ownedEntries(dest: string, src: string) {
  const folder = join(dest, archivePath(src), "owned");
  const describe = async (path: string) => {
    const info = await Deno.lstat(path);
    return { uid: info.uid, gid: info.gid, mode: info.mode! & 0o7777 };
  };
  return {
    folder: await describe(folder),
    tool: await describe(join(folder, "tool")),
    link: await describe(join(folder, "link")),
  };
}

Deno.test(
  where(
    skipIf(
      !AS_ROOT,
      onWindows ? "not on Windows: it has no POSIX owners" : "needs root, to give files owners",
    ),
    {
      name: "a restore as root gives owners back and keeps setuid; --no-same-owner drops both",
      fn: async () => {
        await withFolderBucket(async ({ root, src, backup, restore }) => {
          await addOwnedEntries(src);
          const stateDb = await backup();

          const same = join(root, "same");
          const result = await restore([stateDb, "--to", same]);
          assert.equal(result.code, 0, result.stderr);
          const restored = await ownedEntries(same, src);
          assert.deepEqual(restored.folder, { ...OWNER, mode: 0o3775 });
          assert.deepEqual(restored.tool, { ...OWNER, mode: 0o4755 });
          assert.equal(restored.link.uid, OWNER.uid);
          assert.equal(restored.link.gid, OWNER.gid);

          const mine = join(root, "mine");
          const opted = await restore([stateDb, "--to", mine, "--no-same-owner"]);
          assert.equal(opted.code, 0, opted.stderr);
          const kept = await ownedEntries(mine, src);
          assert.deepEqual(kept.folder, { uid: 0, gid: 0, mode: 0o775 });
          assert.deepEqual(kept.tool, { uid: 0, gid: 0, mode: 0o755 });
          assert.equal(kept.link.uid, 0);
        });
      },
    },
  ),
);

/** The npm cache of this Deno, copied where an unprivileged user can read it. */
async function readableDenoDir(root: string): Promise<string> {
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const denoDir = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir as string;
  const copy = join(root, "deno-dir");
  await Deno.mkdir(copy);
  const cp = await new Deno.Command("cp", { args: ["-r", join(denoDir, "npm"), copy] }).output();
  assert.ok(cp.success, new TextDecoder().decode(cp.stderr));
  return copy;
}

/** Runs `glacier ARGS` as user and group `NOBODY`, with no supplementary groups. */
async function runCliAsNobody(args: string[], denoDir: string): Promise<CliResult> {
  const output = await new Deno.Command("setpriv", {
    args: [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      ...glacierCommand(args, ["--cached-only"]),
    ],
    env: { NO_COLOR: "1", DENO_DIR: denoDir, HOME: denoDir },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    signal: output.signal,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test(
  where(
    skipIf(
      !AS_ROOT,
      onWindows
        ? "not on Windows: it has no POSIX owners"
        : "needs root, to run the restore as another user",
    ),
    {
      name: "a restore by an ordinary user drops setuid, setgid and sticky",
      fn: async () => {
        await withFolderBucket(async ({ root, src, bucketDir, backup }) => {
          await addOwnedEntries(src);
          const stateDb = await backup();
          // The user restores from a copy of the state database it may write, into its own folder,
          // from a folder bucket it may write (restore checks that it has access).
          const mine = join(root, "nobody");
          await Deno.mkdir(mine);
          const stateCopy = join(mine, "state.sqlite3");
          await Deno.copyFile(stateDb, stateCopy);
          const dest = join(mine, "restored");
          const denoDir = await readableDenoDir(root);
          await new Deno.Command("chmod", { args: ["-R", "a+rX", root] }).output();
          for (const folder of [mine, bucketDir]) {
            await new Deno.Command("chown", { args: ["-R", `${NOBODY}:${NOBODY}`, folder] })
              .output();
          }

          const result = await runCliAsNobody(["restore", stateCopy, "--to", dest], denoDir);
          assert.equal(result.code, 0, result.stderr);
          const restored = await ownedEntries(dest, src);
          assert.deepEqual(restored.folder, { uid: NOBODY, gid: NOBODY, mode: 0o775 });
          assert.deepEqual(restored.tool, { uid: NOBODY, gid: NOBODY, mode: 0o755 });
          assert.equal(restored.link.uid, NOBODY);
        });
      },
    },
  ),
);
