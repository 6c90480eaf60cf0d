/** A throw-away folder for one test: a source tree, a `file://` bucket and a state folder. */
import { join } from "node:path";
import { type CliResult, runCli } from "./run_cli.ts";

/** `src/` and `bucket/` exist; `state/` is made by the first backup; `cleanup` removes it all. */
export interface Sandbox {
  root: string;
  src: string;
  bucket: string;
  state: string;
  cleanup(): Promise<void>;
}

/** Makes a sandbox under the system temp folder. */
export async function makeSandbox(prefix = "glacier-test-"): Promise<Sandbox> {
  const root = await Deno.makeTempDir({ prefix });
  const box = {
    root,
    src: join(root, "src"),
    bucket: join(root, "bucket"),
    state: join(root, "state"),
    cleanup: () => Deno.remove(root, { recursive: true }),
  };
  await Deno.mkdir(box.src);
  await Deno.mkdir(box.bucket);
  return box;
}

/** Runs `glacier backup` of the sandbox's source to its folder bucket, with `extra` arguments. */
export function backupToSandbox(box: Sandbox, ...extra: string[]): Promise<CliResult> {
  return runCli(sandboxBackupArgs(box, extra));
}

/** `backupToSandbox`, killed (SIGKILL) at the crash point `stage` (see `crashPoint`). */
export function backupToSandboxKilledAt(
  box: Sandbox,
  stage: string,
  ...extra: string[]
): Promise<CliResult> {
  return runCli(sandboxBackupArgs(box, extra), { env: { GLACIER_TEST_CRASH_AT: stage } });
}

/** The arguments of `glacier backup` of the sandbox's source to its folder bucket. */
export function sandboxBackupArgs(box: Sandbox, extra: string[] = []): string[] {
  return [
    "backup",
    "--src-dirs",
    box.src,
    "--bucket",
    `file://${box.bucket}`,
    "--state-dir",
    box.state,
    ...extra,
  ];
}

/** Runs `body` with a new temporary folder (this user's, 0700), removed afterwards. */
export async function withTempFolder<T>(
  prefix: string,
  body: (folder: string) => Promise<T>,
): Promise<T> {
  const folder = await Deno.makeTempDir({ prefix });
  try {
    return await body(folder);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}
