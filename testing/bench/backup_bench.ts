/**
 * `deno task bench`: glacier against the Unix pipeline, each shape in one run, the two commands
 * in turn (A B A B ...) after a warm-up, with medians, min-max, CPU and peak RSS of each:
 *
 * - `backup-mixed`, `backup-small`: `glacier backup` to a `file://` bucket vs
 *   `tar -c | zstd -3 | age -r KEY > file`, on the mixed corpus and on the tiny files;
 * - `restore-mixed`, `restore-small`: `glacier restore` of that backup into an empty folder vs
 *   `age -d -i KEY | zstd -d | tar -x` of the pipeline's file into an empty folder;
 * - `scale`: backup and restore of 100,000, 300,000 and 1,000,000 tiny files, time per file;
 * - `upload`: one file of random bytes to a moto server through glacier's upload path
 *   (upload_driver.ts) vs `aws s3 cp`.
 *
 * Corpora are generated once under `.bench/` (corpus.ts); run outputs go to `.bench/runs/` and
 * are removed at the end. `--help` lists the options.
 */
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { type Corpus, mixedCorpus, randomFile, tinyCorpus } from "./corpus.ts";
import {
  compare,
  type Comparison,
  formatSpread,
  killRunning,
  type Side,
  spread,
  table,
} from "./measure.ts";
import { createBucket, type MotoServer, startMoto, testAwsEnv } from "../moto.ts";
import { glacierCommand } from "../run_cli.ts";
import { V8_FLAGS_OPTION } from "../../lib/cli/v8_flags.ts";

const SHAPES = [
  "backup-mixed",
  "restore-mixed",
  "backup-small",
  "restore-small",
  "scale",
  "upload",
] as const;
type Shape = typeof SHAPES[number];

const USAGE = `usage: deno task bench [options]
  --only LIST       shapes to run, comma-separated (default: all): ${SHAPES.join(",")}
  --runs N          counted runs of each command (default 5), after --warmup N (default 1)
  --corpus-mb N     size of the mixed corpus in MB (default 833)
  --small-files N   files of the small-files shapes (default 300000)
  --scale LIST      file counts of the scale table (default 100000,300000,1000000)
  --scale-runs N    counted runs of each scale row (default: --runs)
  --upload-mib N    size of the uploaded file in MiB (default 1024)
  --restore-into D  restore into fresh folders under D (say /dev/shm, to leave a shared or slow
                    disk out of the restore figures; default: under .bench/runs/)
  --keep            keep the run outputs in .bench/runs/`;

const UPLOAD_DRIVER = fileURLToPath(new URL("./upload_driver.ts", import.meta.url));
const ROOT = resolve(fileURLToPath(new URL("../../.bench", import.meta.url)));
const RUNS_DIR = join(ROOT, "runs");

/** A bad option or a missing tool: one line, exit 2. */
class UsageError extends Error {}

interface Options {
  shapes: Set<Shape>;
  runs: number;
  warmup: number;
  corpusMb: number;
  smallFiles: number;
  scale: number[];
  scaleRuns: number;
  uploadMib: number;
  keep: boolean;
  /** The folder restores go into, if not the run's own folder. */
  restoreInto?: string;
}

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      only: { type: "string", default: SHAPES.join(",") },
      runs: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      "corpus-mb": { type: "string", default: "833" },
      "small-files": { type: "string", default: "300000" },
      scale: { type: "string", default: "100000,300000,1000000" },
      "scale-runs": { type: "string" },
      "upload-mib": { type: "string", default: "1024" },
      keep: { type: "boolean", default: false },
      "restore-into": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const count = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) {
      throw new UsageError(`${name} must be a whole number of at least ${min}, not "${text}"`);
    }
    return n;
  };
  const shapes = new Set<Shape>();
  for (const name of values.only.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (!(SHAPES as readonly string[]).includes(name)) {
      throw new UsageError(`unknown shape "${name}" in --only; shapes: ${SHAPES.join(", ")}`);
    }
    shapes.add(name as Shape);
  }
  const runs = count("--runs", values.runs, 1);
  return {
    shapes,
    runs,
    warmup: count("--warmup", values.warmup, 0),
    corpusMb: count("--corpus-mb", values["corpus-mb"], 1),
    smallFiles: count("--small-files", values["small-files"], 1),
    scale: values.scale.split(",").filter(Boolean).map((n) => count("--scale", n.trim(), 1)),
    scaleRuns: count("--scale-runs", values["scale-runs"] ?? String(runs), 1),
    uploadMib: count("--upload-mib", values["upload-mib"], 1),
    keep: values.keep,
    restoreInto: values["restore-into"] === undefined ? undefined : resolve(values["restore-into"]),
  };
}

/** Refuses to start when a tool a chosen shape needs is missing. */
async function checkTools(shapes: Set<Shape>): Promise<void> {
  const tools = ["tar", "zstd", "age", "age-keygen", "/usr/bin/time"];
  if (shapes.has("upload")) tools.push("aws", "moto_server");
  const missing = [];
  for (const tool of tools) {
    const found = await new Deno.Command("sh", {
      args: ["-c", 'command -v "$1" >/dev/null', "sh", tool],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!found.success) missing.push(tool);
  }
  if (missing.length > 0) {
    throw new UsageError(
      `the bench needs ${missing.join(", ")} on PATH (GNU time for /usr/bin/time; ` +
        `aws-cli and moto_server only for --only upload)`,
    );
  }
}

function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

const MiB = 1024;
const rss = (figures: { rssKiB: number }[]) =>
  formatSpread(spread(figures.map((f) => f.rssKiB / MiB)), 0);
const wall = (figures: { wall: number }[]) => formatSpread(spread(figures.map((f) => f.wall)));
const cpu = (figures: { cpu: number }[]) => formatSpread(spread(figures.map((f) => f.cpu)), 1);

/** Runs `deno run main.ts ARGS` as glacier. */
function glacier(...args: string[]): string[] {
  return glacierCommand(args);
}

/** A bash pipeline that fails if any stage fails. */
function pipeline(script: string): string[] {
  return ["bash", "-c", `set -o pipefail; ${script}`];
}

const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

async function clean(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

/** What a backup shape leaves for its restore shape: the last backup of each side. */
interface Backups {
  /** Glacier's state folder (holding the state database) and bucket folder. */
  glacierState: string;
  glacierBucket: string;
  /** The pipeline's `.tar.zst.age` file. */
  pipelineFile: string;
}

/** The untimed-setup sides of a backup of `corpus`, leaving its outputs in `dir`. */
function backupSides(corpus: Corpus, dir: string, recipient: string): [Side, Side, Backups] {
  const backups: Backups = {
    glacierState: join(dir, "glacier-state"),
    glacierBucket: join(dir, "glacier-bucket"),
    pipelineFile: join(dir, "pipeline.tar.zst.age"),
  };
  const work = join(dir, "glacier-work");
  const glacierSide: Side = {
    label: "glacier",
    before: async () => {
      for (const d of [backups.glacierState, backups.glacierBucket, work]) await clean(d);
      await Deno.mkdir(backups.glacierBucket, { recursive: true });
    },
    invocation: () => ({
      command: glacier(
        "backup",
        "--src-dirs",
        corpus.path,
        "--bucket",
        `file://${backups.glacierBucket}`,
        "--state-dir",
        backups.glacierState,
        join(work, "bench.tar"),
      ),
    }),
  };
  const pipelineSide: Side = {
    label: "pipeline",
    before: () => clean(backups.pipelineFile),
    invocation: () => ({
      command: pipeline(
        `tar -cf - -C / ${quote(relative("/", corpus.path))} | zstd -3 -q | ` +
          `age -r ${recipient} > ${quote(backups.pipelineFile)}`,
      ),
    }),
  };
  return [glacierSide, pipelineSide, backups];
}

/** The sides of a restore of `backups` into fresh empty folders under `dir`. */
async function restoreSides(backups: Backups, dir: string, keyFile: string): Promise<[Side, Side]> {
  const stateDb = await findStateDb(backups.glacierState);
  const stateCopy = join(dir, "restore-state");
  const glacierTarget = join(dir, "glacier-restored");
  const pipelineTarget = join(dir, "pipeline-restored");
  const glacierSide: Side = {
    label: "glacier",
    // Each run starts from the state database as the backup left it, into an empty folder.
    before: async () => {
      await clean(stateCopy);
      await clean(glacierTarget);
      await Deno.mkdir(stateCopy);
      await Deno.copyFile(stateDb, join(stateCopy, "state.sqlite3"));
    },
    after: () => clean(glacierTarget),
    invocation: () => ({
      command: glacier(
        "restore",
        join(stateCopy, "state.sqlite3"),
        "--to",
        glacierTarget,
        "--yes",
      ),
    }),
  };
  const pipelineSide: Side = {
    label: "pipeline",
    before: async () => {
      await clean(pipelineTarget);
      await Deno.mkdir(pipelineTarget);
    },
    after: () => clean(pipelineTarget),
    invocation: () => ({
      command: pipeline(
        `age -d -i ${quote(keyFile)} ${quote(backups.pipelineFile)} | zstd -d -q | ` +
          `tar -xf - -C ${quote(pipelineTarget)}`,
      ),
    }),
  };
  return [glacierSide, pipelineSide];
}

async function findStateDb(stateDir: string): Promise<string> {
  for await (const entry of Deno.readDir(stateDir)) {
    if (entry.isFile && entry.name.endsWith("_backup_statedb.sqlite3")) {
      return join(stateDir, entry.name);
    }
  }
  throw new Error(`no state database in ${stateDir}: did the backup run?`);
}

/** One row of a shape table: glacier vs pipeline. */
function comparisonRow(shape: string, result: Comparison, extra: string[] = []): string[] {
  return [
    shape,
    wall(result.a),
    wall(result.b),
    formatSpread(spread(result.ratios)),
    cpu(result.a),
    cpu(result.b),
    rss(result.a),
    rss(result.b),
    ...extra,
  ];
}

const COMPARISON_HEADER = [
  "shape",
  "glacier wall s",
  "pipeline wall s",
  "ratio",
  "glacier CPU s",
  "pipeline CPU s",
  "glacier peak RSS MiB",
  "pipeline peak RSS MiB",
];

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  await checkTools(options.shapes);
  const startLoad = loadAverage();
  console.log(
    `nproc ${navigator.hardwareConcurrency}; load average at start ${startLoad}; ` +
      `${options.runs} counted runs after ${options.warmup} warm-up; ` +
      "figures are median (min-max); ratio = glacier / pipeline, pair by pair; " +
      "CPU = user + sys of the whole process tree; peak RSS = largest single process" +
      (options.restoreInto ? `; restores into ${options.restoreInto}` : ""),
  );
  await Deno.mkdir(RUNS_DIR, { recursive: true });
  const keyFile = join(ROOT, "bench.key");
  if (!(await Deno.stat(keyFile).then(() => true, () => false))) {
    const made = await new Deno.Command("age-keygen", { args: ["-o", keyFile], stderr: "null" })
      .output();
    if (!made.success) throw new Error("age-keygen failed");
  }
  const recipient = /public key: (age1\S+)/.exec(await Deno.readTextFile(keyFile))?.[1];
  if (!recipient) throw new Error(`${keyFile} holds no age public key: delete it`);
  const progress = (line: string) => console.error(line);
  const rows: string[][] = [];
  const { shapes } = options;

  /**
   * Backs `corpus` up, both ways (`runs` timed runs, or one untimed run when only the restore is
   * wanted), then restores the last backups (if `restore`).
   */
  const backupAndRestore = async (
    corpus: Corpus,
    name: string,
    runs: number,
    want: { backup: boolean; restore: boolean },
  ) => {
    const dir = join(RUNS_DIR, name);
    const restoreDir = options.restoreInto
      ? join(options.restoreInto, `glacier-bench-${name}`)
      : dir;
    await clean(dir);
    await Deno.mkdir(dir, { recursive: true });
    try {
      const [g, p, backups] = backupSides(corpus, dir, recipient);
      const what = `${corpus.files} files, ${(corpus.bytes / 1e6).toFixed(0)} MB`;
      progress(`backup of ${name} (${what})${want.backup ? "" : ", untimed"}`);
      const backup = want.backup
        ? await compare(g, p, runs, options.warmup, progress)
        : await compare(g, p, 1, 0, () => {});
      if (!want.restore) return { backup };
      progress(`restore of ${name}`);
      const [rg, rp] = await restoreSides(backups, restoreDir, keyFile);
      await Deno.mkdir(restoreDir, { recursive: true });
      return { backup, restore: await compare(rg, rp, runs, options.warmup, progress) };
    } finally {
      if (!options.keep) await clean(dir);
      if (restoreDir !== dir) await clean(restoreDir);
    }
  };

  for (
    const [kind, corpusOf] of [
      ["mixed", () => mixedCorpus(ROOT, options.corpusMb)],
      ["small", () => tinyCorpus(ROOT, options.smallFiles)],
    ] as const
  ) {
    const wantBackup = shapes.has(`backup-${kind}`);
    const wantRestore = shapes.has(`restore-${kind}`);
    if (!wantBackup && !wantRestore) continue;
    progress(`preparing the ${kind} corpus under ${ROOT} (once)`);
    const corpus = await corpusOf();
    const what = `${corpus.files} files, ${(corpus.bytes / 1e6).toFixed(0)} MB`;
    const { backup, restore } = await backupAndRestore(corpus, kind, options.runs, {
      backup: wantBackup,
      restore: wantRestore,
    });
    if (wantBackup) rows.push(comparisonRow(`backup-${kind} (${what})`, backup));
    if (restore) rows.push(comparisonRow(`restore-${kind} (${what})`, restore));
  }
  if (rows.length > 0) console.log(`\n${table(COMPARISON_HEADER, rows)}`);

  if (shapes.has("scale")) {
    const scaleRows: string[][] = [];
    for (const count of options.scale) {
      progress(`preparing ${count} tiny files (once)`);
      const corpus = await tinyCorpus(ROOT, count);
      const { backup, restore } = await backupAndRestore(
        corpus,
        `scale-${count}`,
        options.scaleRuns,
        { backup: true, restore: true },
      );
      const perFile = (figures: { wall: number }[]) =>
        formatSpread(spread(figures.map((f) => f.wall)), 1, 1e6 / count);
      scaleRows.push([
        String(count),
        perFile(backup.a),
        perFile(backup.b),
        formatSpread(spread(backup.ratios)),
        rss(backup.a),
        perFile(restore!.a),
        perFile(restore!.b),
        formatSpread(spread(restore!.ratios)),
        rss(restore!.a),
      ]);
    }
    console.log(
      `\n${
        table([
          "files",
          "backup glacier us/file",
          "backup pipeline us/file",
          "ratio",
          "backup glacier peak RSS MiB",
          "restore glacier us/file",
          "restore pipeline us/file",
          "ratio",
          "restore glacier peak RSS MiB",
        ], scaleRows)
      }`,
    );
  }

  if (shapes.has("upload")) await uploadShape(options, progress);
  console.log(`\nload average at end ${loadAverage()} (at start ${startLoad})`);
}

/** glacier's upload path vs `aws s3 cp`, the same file to the same moto server. */
async function uploadShape(options: Options, progress: (line: string) => void): Promise<void> {
  progress(`preparing ${options.uploadMib} MiB of random bytes (once)`);
  const file = await randomFile(ROOT, options.uploadMib);
  let moto: MotoServer | undefined;
  try {
    moto = await startMoto();
    stopOnInterrupt = moto.stop;
    const bucket = "bench";
    await createBucket(moto.endpoint, bucket);
    const env = {
      ...testAwsEnv(moto.endpoint),
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    };
    const endpoint = moto.endpoint;
    // moto keeps objects in memory: each run's object goes before the next run.
    const emptyBucket = () => emptyMotoBucket(endpoint, bucket);
    const work = join(RUNS_DIR, "upload-work");
    const glacierSide: Side = {
      label: "glacier",
      before: () => clean(work),
      after: emptyBucket,
      invocation: () => ({
        command: [
          Deno.execPath(),
          "run",
          "--allow-all",
          "--quiet",
          V8_FLAGS_OPTION,
          UPLOAD_DRIVER,
          file.path,
          `s3://${bucket}`,
          endpoint,
          work,
        ],
        env,
      }),
    };
    const awsSide: Side = {
      label: "aws s3 cp",
      after: emptyBucket,
      invocation: () => ({
        command: [
          "aws",
          "s3",
          "cp",
          "--quiet",
          "--endpoint-url",
          endpoint,
          file.path,
          `s3://${bucket}/aws-s3-cp.bin`,
        ],
        env,
      }),
    };
    progress(`upload of ${options.uploadMib} MiB to moto`);
    const result = await compare(glacierSide, awsSide, options.runs, options.warmup, progress);
    const throughput = (figures: { wall: number }[]) =>
      formatSpread(spread(figures.map((f) => options.uploadMib / f.wall)), 0);
    console.log(
      `\n${
        table([
          `upload ${options.uploadMib} MiB to moto`,
          "wall s",
          "MiB/s",
          "CPU s (user+sys)",
          "peak RSS MiB",
        ], [
          [
            "glacier (uploadVolume, 16 MiB parts, 2 in flight)",
            wall(result.a),
            throughput(result.a),
            cpu(result.a),
            rss(result.a),
          ],
          ["aws s3 cp", wall(result.b), throughput(result.b), cpu(result.b), rss(result.b)],
          ["ratio glacier / aws", formatSpread(spread(result.ratios)), "", "", ""],
        ])
      }`,
    );
  } finally {
    await moto?.stop();
    stopOnInterrupt = undefined;
  }
}

/** Deletes every object of a moto bucket (moto checks no signature, so plain requests do). */
async function emptyMotoBucket(endpoint: string, bucket: string): Promise<void> {
  const listing = await (await fetch(`${endpoint}/${bucket}?list-type=2`)).text();
  for (const [, key] of listing.matchAll(/<Key>([^<]+)<\/Key>/g)) {
    const response = await fetch(`${endpoint}/${bucket}/${key}`, { method: "DELETE" });
    await response.body?.cancel();
  }
}

/** Stops the moto server of a running upload shape, on Ctrl-C. */
let stopOnInterrupt: (() => Promise<void>) | undefined;

Deno.addSignalListener("SIGINT", async () => {
  killRunning();
  await stopOnInterrupt?.();
  await clean(RUNS_DIR).catch(() => {});
  Deno.exit(130);
});

try {
  await main();
} catch (error) {
  killRunning();
  console.error(`bench: ${error instanceof Error ? error.message : error}`);
  Deno.exitCode = error instanceof UsageError ? 2 : 3;
} finally {
  if (!Deno.args.includes("--keep")) await clean(RUNS_DIR).catch(() => {});
}
Deno.exit();
