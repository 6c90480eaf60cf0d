/**
 * Smoke test of the whole program, as a user runs it: backs a generated folder up to a `file://`
 * bucket (encrypted with the backup's own key, zstd), exports the key, runs `verify`, decrypts a
 * copy of the volumes, restores into an empty folder and compares the trees. One line per step,
 * then `smoke: ok` (exit 0) or `smoke: FAILED ...` (exit 1).
 *
 *     deno task smoke                                 # deno run main.ts from this checkout
 *     deno task smoke -- dist/glacier-linux-x64       # a built binary (and its arguments)
 *     GLACIER_SMOKE_COMMAND=dist/glacier-linux-x64 deno task smoke
 *
 * Runs on Linux, macOS and Windows: no shell, no Unix programs, paths built with `node:path`.
 * `--keep` (or a failure) leaves the temporary folder in place and prints where it is.
 */
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import denoConfig from "../deno.json" with { type: "json" };
import { compareTrees, makeSmokeTree, makeWritable } from "./smoke_tree.ts";

const isWindows = Deno.build.os === "windows";
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** How long one run of the program may take (`GLACIER_SMOKE_TIMEOUT`, seconds; default 600). */
const RUN_TIMEOUT_MS = 1000 * Number(Deno.env.get("GLACIER_SMOKE_TIMEOUT") || 600);

/** A step's failure: its message is printed as is. */
class SmokeFailure extends Error {}

/** What a run of the program printed and how it ended. */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The command line of the program: the arguments given, else `GLACIER_SMOKE_COMMAND` (split on
 * spaces), else `deno run` of this checkout's main.ts with the V8 flags of `deno task glacier`.
 */
export function programCommand(args: string[], env = Deno.env.get("GLACIER_SMOKE_COMMAND")) {
  const given = args.length > 0 ? args : env?.trim() ? env.trim().split(/\s+/) : [];
  if (given.length > 0) {
    const [program, ...rest] = given;
    // A relative program path is taken from the current folder (the runs happen elsewhere).
    const path = /[\\/]/.test(program) && !isAbsolute(program) ? resolve(program) : program;
    return [path, ...rest];
  }
  const task: string = denoConfig.tasks.glacier;
  const v8Flags = task.split(/\s+/).filter((word) => word.startsWith("--v8-flags="));
  return [Deno.execPath(), "run", "--allow-all", "--quiet", ...v8Flags, MAIN];
}

/**
 * Runs the program with `args` in `cwd`; never throws for a non-zero exit, but does when the
 * program cannot be started or is still running after `RUN_TIMEOUT_MS` (it is killed then).
 */
async function runProgram(command: string[], args: string[], cwd: string): Promise<Run> {
  const [program, ...before] = command;
  const signal = AbortSignal.timeout(RUN_TIMEOUT_MS);
  const timedOut = () =>
    new SmokeFailure(`${args[0]}: still running after ${RUN_TIMEOUT_MS / 1000} s, killed`);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(program, {
      args: [...before, ...args],
      cwd,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal,
    }).output();
  } catch (error) {
    if (signal.aborted) throw timedOut();
    throw new SmokeFailure(`cannot start ${program}: ${(error as Error).message}`);
  }
  if (signal.aborted) throw timedOut();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Throws a failure naming the step, with the end of the program's output, unless it exited 0. */
function expectSuccess(step: string, run: Run): void {
  if (run.code === 0) return;
  const tail = (text: string) => text.trimEnd().split("\n").slice(-20).join("\n");
  throw new SmokeFailure(
    `${step}: exit code ${run.code}\n--- stdout ---\n${tail(run.stdout)}\n--- stderr ---\n${
      tail(run.stderr)
    }`,
  );
}

/** Where `tar -x` (and `glacier restore --to`) puts the absolute path `path`: root dropped. */
export function archiveRelative(path: string, windows = isWindows): string {
  if (!windows) return path.replace(/^\/+/, "");
  return path.replaceAll("\\", "/").replace(/^\/\/[?.]\//, "").replace(/^([A-Za-z]):\/?/, "$1/")
    .replace(/^\/+/, "");
}

/** A bucket URL for a local folder, in the form the README gives (`file:///C:/x` on Windows). */
function bucketUrl(folder: string): string {
  return pathToFileURL(folder).href;
}

/** MiB with one decimal. */
function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

/** Runs the smoke test; resolves to the exit code. */
async function smoke(args: string[]): Promise<number> {
  const keep = args.includes("--keep");
  // `deno task smoke -- BINARY` passes the `--` on.
  const command = programCommand(args.filter((arg) => arg !== "--keep" && arg !== "--"));
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "glacier-smoke-" }));
  const started = performance.now();
  let failed = true;
  const step = (name: string, text: string) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`smoke: ${name}: ${text} [${seconds} s]`);
  };
  try {
    console.log(`smoke: program: ${command.join(" ")}`);
    console.log(`smoke: work folder: ${root}`);

    const version = await runProgram(command, ["--version"], root);
    expectSuccess("version", version);
    step("version", version.stdout.trim());

    const src = join(root, "source tree");
    const bucket = join(root, "bucket");
    const state = join(root, "state");
    await Deno.mkdir(src);
    await Deno.mkdir(bucket);
    const tree = await makeSmokeTree(src);
    step(
      "tree",
      `${tree.files} files (${
        mib(tree.bytes)
      }), ${tree.folders} folders, ${tree.symlinks} symlinks` +
        (tree.symlinkSkipped ? ` (no symlinks: ${tree.symlinkSkipped})` : ""),
    );

    const backup = await runProgram(command, [
      "backup",
      "--src-dirs",
      src,
      "--bucket",
      bucketUrl(bucket),
      "--state-dir",
      state,
      "--compression",
      "zstd",
      "--volume-size",
      "2MiB",
      join(root, "work", "smoke.tar"),
    ], root);
    expectSuccess("backup", backup);
    const stateDb = backup.stdout.split("\n")[0].trim();
    if (!stateDb.endsWith(".sqlite3")) {
      throw new SmokeFailure(`backup: first stdout line is not a state database: ${stateDb}`);
    }
    const backupId = /(\d{8}_\d{6})_backup_statedb\.sqlite3$/.exec(stateDb)?.[1];
    if (!backupId) throw new SmokeFailure(`backup: no backup id in ${stateDb}`);
    const volumeFolder = join(bucket, backupId);
    const volumes: string[] = [];
    for await (const item of Deno.readDir(volumeFolder)) {
      if (/^\d{6}_smoke\.tar\.zst\.age$/.test(item.name)) volumes.push(item.name);
    }
    volumes.sort();
    if (volumes.length < 2) {
      throw new SmokeFailure(`backup: expected several volumes in ${volumeFolder}, got ${volumes}`);
    }
    const ageHeader = new TextEncoder().encode("age-encryption.org/v1\n");
    for (const name of volumes) {
      const head = (await Deno.readFile(join(volumeFolder, name))).subarray(0, ageHeader.length);
      if (!head.every((byte, i) => byte === ageHeader[i])) {
        throw new SmokeFailure(`backup: ${name} does not start with an age v1 header`);
      }
    }
    step("backup", `${volumes.length} age-encrypted zstd volumes in ${bucketUrl(volumeFolder)}`);

    const keyFile = join(root, "key.txt");
    const key = await runProgram(command, ["key", "export", stateDb, "--output", keyFile], root);
    expectSuccess("key export", key);
    const keyText = (await Deno.readTextFile(keyFile)).trim().split(/\r?\n/).at(-1) ?? "";
    if (!keyText.startsWith("AGE-SECRET-KEY-1")) {
      throw new SmokeFailure(`key export: ${keyFile} holds no AGE-SECRET-KEY-1 line`);
    }
    step("key export", `AGE-SECRET-KEY-1... written to ${keyFile}`);

    const verify = await runProgram(command, ["verify", stateDb], root);
    expectSuccess("verify", verify);
    step("verify", verify.stdout.trim().split("\n").at(-1) ?? "");

    const downloads = join(root, "downloads");
    await Deno.mkdir(downloads);
    for (const name of volumes) {
      await Deno.copyFile(join(volumeFolder, name), join(downloads, name));
    }
    const decrypt = await runProgram(command, ["decrypt", stateDb, downloads], root);
    expectSuccess("decrypt", decrypt);
    const zstdMagic = [0x28, 0xb5, 0x2f, 0xfd];
    for (const name of volumes) {
      const plain = join(downloads, name.replace(/\.age$/, ""));
      const head = (await Deno.readFile(plain)).subarray(0, 4);
      if (!zstdMagic.every((byte, i) => head[i] === byte)) {
        throw new SmokeFailure(`decrypt: ${plain} is not a zstd stream`);
      }
    }
    step("decrypt", `${volumes.length} volumes decrypt to zstd streams`);

    const to = join(root, "restored");
    const restore = await runProgram(command, ["restore", stateDb, "--to", to, "--yes"], root);
    expectSuccess("restore", restore);
    step("restore", `into ${to}`);

    const restoredSrc = join(to, ...archiveRelative(src).split("/"));
    try {
      await Deno.stat(restoredSrc);
    } catch {
      throw new SmokeFailure(`compare: the restore made no ${restoredSrc}`);
    }
    const comparison = await compareTrees(src, restoredSrc);
    if (comparison.problems.length > 0) {
      throw new SmokeFailure(`compare: ${comparison.problems.join("\n  ")}`);
    }
    const kept = isWindows ? "read-only bit" : "modes";
    step("compare", `${comparison.entries} entries identical (bytes, types, times, ${kept})`);
    failed = false;
    console.log("smoke: ok");
    return 0;
  } catch (error) {
    const message = error instanceof SmokeFailure
      ? error.message
      : error instanceof Error
      ? error.stack ?? error.message
      : String(error);
    console.log(`smoke: FAILED ${message}`);
    return 1;
  } finally {
    if (failed || keep) console.log(`smoke: kept ${root}`);
    else {
      if (isWindows) await makeWritable(root);
      await Deno.remove(root, { recursive: true });
    }
  }
}

if (import.meta.main) {
  Deno.exit(await smoke(Deno.args));
}
