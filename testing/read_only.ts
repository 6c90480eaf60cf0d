/**
 * Runs the command line with a folder made truly read-only. As a normal user, `chmod` does it.
 * Root writes through any mode bits, so for root the folder is bind-mounted read-only in a mount
 * namespace of the command's own (`unshare`), which vanishes with it: nothing is left mounted if
 * the test dies. Where neither works, `readOnlyFolderSupport` says why and the test is skipped.
 */
import { type CliResult, runCli } from "./run_cli.ts";

const IS_ROOT = Deno.uid() === 0;

/** The shell steps that remount `$1` read-only, then run the rest of the command line. */
const REMOUNT_READ_ONLY =
  'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"';

function rootWrapper(folder: string): string[] {
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    REMOUNT_READ_ONLY,
    "sh",
    folder,
  ];
}

/** Undefined when read-only folders can be made here, else why not (for the skip message). */
export async function readOnlyFolderSupport(): Promise<string | undefined> {
  if (Deno.build.os === "windows") {
    return "not on Windows: a folder's read-only flag does not stop writes in it";
  }
  if (!IS_ROOT) return undefined;
  const folder = await Deno.makeTempDir({ prefix: "glacier-ro-probe-" });
  // Exits 0 only when the remount worked and then refused a new file.
  const refusesWrites = 'if touch "$0/written" 2>/dev/null; then exit 1; fi';
  try {
    const [program, ...args] = [...rootWrapper(folder), "sh", "-c", refusesWrites, folder];
    const probe = await new Deno.Command(program, { args, stdout: "null", stderr: "piped" })
      .output();
    if (probe.code === 0) return undefined;
    const why = new TextDecoder().decode(probe.stderr).trim() || "the folder stayed writable";
    return `as root, no read-only bind mount here (${why})`;
  } catch (error) {
    return `as root, no read-only bind mount here (${error})`;
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

/** Runs `glacier ARGS...` while `folder` (and every file in it) cannot be written. */
export async function runCliOnReadOnlyFolder(
  folder: string,
  args: string[],
  options: { env?: Record<string, string> } = {},
): Promise<CliResult> {
  if (IS_ROOT) return await runCli(args, { ...options, wrapper: rootWrapper(folder) });
  const modes = new Map<string, number>();
  for await (const entry of Deno.readDir(folder)) {
    const path = `${folder}/${entry.name}`;
    modes.set(path, (await Deno.lstat(path)).mode! & 0o7777);
    if (entry.isFile) await Deno.chmod(path, 0o444);
  }
  const folderMode = (await Deno.stat(folder)).mode! & 0o7777;
  await Deno.chmod(folder, 0o555);
  try {
    return await runCli(args, options);
  } finally {
    await Deno.chmod(folder, folderMode);
    for (const [path, mode] of modes) await Deno.chmod(path, mode).catch(() => {});
  }
}
