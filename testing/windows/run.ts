/**
 * `deno task test:windows`: runs the test suite under Windows Deno in Wine (`wine-deno`, see
 * ../shared/tools/windows-under-wine/README.md), from Linux Deno.
 *
 * Each folder of tests/ (or each path given on the command line) is one `wine-deno test -A` run,
 * with its output in a file (Wine's wineserver holds a pipe open after the program ends) and a time
 * limit; `wineserver -k` follows each. A moto launcher (testing/moto_launcher.ts) on the Linux side
 * starts the moto servers the Windows tests ask for. The summary counts passed, failed and ignored
 * tests, groups the ignored ones by the reason in their names (testing/platform.ts), and lists the
 * failures; the exit code is 0 only when nothing failed.
 *
 *     deno task test:windows [--timeout SECONDS] [--keep-output DIR] [PATH...]
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { startMotoLauncher } from "../moto_launcher.ts";
import { MOTO_LAUNCHER_ENV } from "../moto.ts";
import { type ChunkResult, formatSummary, parseTestOutput } from "./summary.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The command line, parsed. */
interface Options {
  timeoutSeconds: number;
  outputDir?: string;
  paths: string[];
}

function parseArgs(args: string[]): Options {
  const options: Options = { timeoutSeconds: 900, paths: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--timeout") options.timeoutSeconds = Number(args[++i]);
    else if (arg === "--keep-output") options.outputDir = args[++i];
    else if (arg.startsWith("-")) throw new Error(`unknown option ${arg}`);
    else options.paths.push(arg);
  }
  if (!(options.timeoutSeconds > 0)) throw new Error("--timeout takes a number of seconds");
  return options;
}

/** The folders of tests/, each a chunk, in name order. */
async function defaultChunks(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, "tests"))) {
    if (entry.isDirectory) names.push(`tests/${entry.name}`);
  }
  return names.sort();
}

/** Runs a shell command line, waiting for its end; true when it exited 0. */
async function sh(script: string, env: Record<string, string> = {}): Promise<number> {
  const status = await new Deno.Command("sh", {
    args: ["-c", script],
    cwd: ROOT,
    env,
    stdin: "null",
  }).spawn().status;
  return status.code;
}

const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

async function runChunk(
  path: string,
  outputFile: string,
  timeoutSeconds: number,
  env: Record<string, string>,
): Promise<ChunkResult> {
  const started = performance.now();
  const code = await sh(
    `timeout --kill-after=15 ${timeoutSeconds} wine-deno test -A ${quote(path)} ` +
      `> ${quote(outputFile)} 2>&1 < /dev/null`,
    env,
  );
  await sh("wineserver -k 2>/dev/null; true");
  const seconds = (performance.now() - started) / 1000;
  const output = await Deno.readTextFile(outputFile);
  return {
    path,
    code,
    timedOut: code === 124 || code === 137,
    seconds,
    ...parseTestOutput(output),
  };
}

async function main(): Promise<number> {
  const options = parseArgs(Deno.args);
  if (await sh("command -v wine-deno >/dev/null") !== 0) {
    console.error(
      "wine-deno is not installed: see ../shared/tools/windows-under-wine/README.md (setup.sh)",
    );
    return 2;
  }
  const chunks = options.paths.length > 0 ? options.paths : await defaultChunks();
  const outputDir = options.outputDir ??
    await Deno.makeTempDir({ prefix: "glacier-test-windows-" });
  await Deno.mkdir(outputDir, { recursive: true });
  const launcher = await startMotoLauncher();
  const env = { NO_COLOR: "1", [MOTO_LAUNCHER_ENV]: launcher.url };
  const started = performance.now();
  const results: ChunkResult[] = [];
  try {
    for (const chunk of chunks) {
      const file = join(outputDir, `${relative("tests", chunk).replaceAll("/", "_") || "all"}.txt`);
      const result = await runChunk(chunk, file, options.timeoutSeconds, env);
      results.push(result);
      console.log(
        `${chunk}: ${result.passed} passed, ${result.failed.length} failed, ` +
          `${result.ignored.length} ignored (${result.seconds.toFixed(0)} s${
            result.timedOut ? ", TIMED OUT" : ""
          }${result.complete ? "" : ", NO SUMMARY"}) -> ${file}`,
      );
    }
  } finally {
    await launcher.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  console.log("");
  console.log(formatSummary(results, seconds, launcher.started()));
  const failed = results.some((r) => r.failed.length > 0 || !r.complete || r.code !== 0);
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
