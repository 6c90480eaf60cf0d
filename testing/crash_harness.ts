/**
 * The crash test: back a tree up to moto, kill `glacier backup` with a real SIGKILL at a random
 * moment, then `glacier resume` (itself killed at random moments) until a resume finishes, and
 * check that nothing was lost: every file restored byte for byte with the reference tools, no
 * orphan object, no unfinished multipart upload, and `glacier verify` content. Kill moments are
 * drawn uniformly across the length of an uninterrupted run measured first, so that every stage
 * (start-up, scan, build, multipart upload, completion) gets hit. glacier talks to moto through a
 * proxy that holds multipart uploads to S3's checksum rules (testing/s3_checksum_rules.ts), which
 * moto alone does not: a resumed upload must still be completed as S3 would accept.
 */
import { basename, join } from "node:path";
import { backupFolderKey, backupIdOfStateDbName } from "../lib/archive/layout.ts";
import { createBucket, type MotoServer, startMoto, testAwsEnv } from "./moto.ts";
import { makeTree } from "./tree.ts";
import { type CliProcess, spawnCli } from "./spawn_cli.ts";
import type { CliResult } from "./run_cli.ts";
import { diffRestored, restoreWithReferenceTools } from "./reference_restore.ts";
import { bucketProblems } from "./bucket_checks.ts";
import { newSeed, type Random, seededRandom } from "./seeded_random.ts";
import { testStorage } from "./moto_sandbox.ts";
import { startChecksumRulesProxy } from "./s3_checksum_rules.ts";
import { Catalog } from "../lib/catalog/catalog.ts";

const MiB = 1024 * 1024;
/** Times a trial starts again because its backup ended before the kill moment. */
const MAX_MISSED_KILLS = 5;

/** Where a kill left a backup, judged from its catalog afterwards. */
export type KillStage = (typeof KILL_STAGES)[number];

/** The stages, in the order a run passes them. */
export const KILL_STAGES = [
  "before the state database",
  "scanning",
  "volumes 0-24% uploaded",
  "volumes 25-49% uploaded",
  "volumes 50-74% uploaded",
  "volumes 75-100% uploaded",
  "marked done",
] as const;

/** Settings of a crash test run. */
export interface CrashTestOptions {
  /** How many kill-and-resume trials. */
  trials: number;
  /** Seed of the kill moments (printed, so a run's schedule can be replayed). */
  seed?: number;
  /** Sizes of the random files of the tree; at least one above 16 MiB gives multipart uploads. */
  bigFiles?: number[];
  /** Small files of the tree. */
  smallFiles?: number;
  /** `--volume-size` of the backups. */
  volumeSize?: string;
  /** Killed resumes after which a resume is let run to its end (bounds a trial). */
  maxKilledResumes?: number;
  /** Longest a single glacier process may run before the trial fails (ms). */
  processTimeoutMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What happened in one trial. */
export interface TrialResult {
  trial: number;
  /** SIGKILLs sent (to backups and resumes). */
  kills: number;
  /** Resumes started. */
  resumes: number;
  /** Backups started again because the first died before its state database was usable. */
  restarts: number;
  /** Volumes of the finished backup. */
  volumes: number;
  /** Times the trial was started again because the backup finished before its kill moment. */
  missedKills: number;
  /** Where each kill landed, in ms after the process started. */
  killMoments: number[];
  /** Where each kill left the backup (see `KILL_STAGES`). */
  killStages: KillStage[];
  /** Everything wrong (empty when the trial passed). */
  problems: string[];
  /** True when a restored file was missing or differed. */
  dataLost: boolean;
}

/** The outcome of a crash test run. */
export interface CrashSummary {
  seed: number;
  /** Length of the uninterrupted reference run (ms). */
  baselineMs: number;
  volumes: number;
  results: TrialResult[];
}

/** Runs the crash test; never throws for a failed trial (see `TrialResult.problems`). */
export async function runCrashTest(options: CrashTestOptions): Promise<CrashSummary> {
  const seed = options.seed ?? newSeed();
  const random = seededRandom(seed);
  const log = options.log ?? (() => {});
  const root = await Deno.makeTempDir({ prefix: "glacier-crash-" });
  try {
    const src = join(root, "src");
    await Deno.mkdir(src);
    await makeTree(src, {
      bigFiles: options.bigFiles ??
        [34 * MiB, 3 * MiB, ...Array(10).fill(1.5 * MiB), ...Array(8).fill(700 * 1024)],
      smallFiles: options.smallFiles ?? 300,
    });
    const setup: TrialSetup = {
      src,
      volumeSize: options.volumeSize ?? "2MiB",
      timeoutMs: options.processTimeoutMs ?? 600_000,
      maxKilledResumes: options.maxKilledResumes ?? 10,
      random,
      log,
    };
    log(`crash test: seed ${seed}, ${options.trials} trials`);
    const baseline = await runTrial(setup, 0, join(root, "baseline"), undefined);
    if (baseline.result.problems.length > 0) {
      throw new Error(`the uninterrupted run failed:\n${baseline.result.problems.join("\n")}`);
    }
    log(
      `uninterrupted run: ${(baseline.durationMs / 1000).toFixed(1)} s, ` +
        `${baseline.result.volumes} volumes`,
    );
    const results: TrialResult[] = [];
    for (let trial = 1; trial <= options.trials; trial++) {
      // A backup that ends before its kill moment proves nothing: start the trial again, drawing
      // the moment within the length of the run just seen.
      let runMs = baseline.durationMs;
      let missed = 0;
      for (;;) {
        const dir = join(root, `trial-${trial}-${missed}`);
        const attempt = await runTrial(setup, trial, dir, { runMs });
        if (!attempt.missed || missed === MAX_MISSED_KILLS) {
          attempt.result.missedKills = missed;
          results.push(attempt.result);
          log(describeTrial(attempt.result));
          break;
        }
        missed++;
        runMs = Math.min(runMs, attempt.durationMs);
      }
    }
    return {
      seed,
      baselineMs: baseline.durationMs,
      volumes: baseline.result.volumes,
      results,
    };
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/** One line about a trial. */
export function describeTrial(r: TrialResult): string {
  const moments = r.killMoments.map((ms) => `${(ms / 1000).toFixed(2)}s`).join(", ");
  const outcome = r.problems.length === 0 ? "ok" : `FAILED: ${r.problems.join("; ")}`;
  return `trial ${r.trial}: ${r.kills} kills (${moments || "none"}), ${r.resumes} resumes, ` +
    `${r.restarts} restarts, ${r.volumes} volumes: ${outcome}`;
}

/** The summary table printed at the end of `deno task test:crash`. */
export function summaryTable(summary: CrashSummary): string {
  const sum = (pick: (r: TrialResult) => number) =>
    summary.results.reduce((n, r) => n + pick(r), 0);
  const rows: [string, string][] = [
    ["seed", String(summary.seed)],
    ["volumes per backup", String(summary.volumes)],
    ["uninterrupted run", `${(summary.baselineMs / 1000).toFixed(1)} s`],
    ["trials", String(summary.results.length)],
    ["kills (SIGKILL)", String(sum((r) => r.kills))],
    ["resumes", String(sum((r) => r.resumes))],
    ["backups restarted (killed before the state database)", String(sum((r) => r.restarts))],
    ["trials run again (backup ended before the kill)", String(sum((r) => r.missedKills))],
    ...KILL_STAGES.map((stage): [string, string] => [
      `  kills that left the backup ${stage}`,
      String(sum((r) => r.killStages.filter((s) => s === stage).length)),
    ]),
    ["trials with data lost", String(sum((r) => r.dataLost ? 1 : 0))],
    ["trials failed (any problem)", String(sum((r) => r.problems.length > 0 ? 1 : 0))],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const line = `+-${"-".repeat(width)}-+-${"-".repeat(12)}-+`;
  return [
    line,
    ...rows.map(([name, value]) => `| ${name.padEnd(width)} | ${value.padStart(12)} |`),
    line,
  ].join("\n");
}

interface TrialSetup {
  src: string;
  volumeSize: string;
  timeoutMs: number;
  maxKilledResumes: number;
  random: Random;
  log: (line: string) => void;
}

/**
 * One trial in `dir` against a fresh moto server. Without `kill`, the backup runs uninterrupted
 * (the baseline); with it, processes are killed after a delay drawn uniformly in [0, runMs).
 */
async function runTrial(
  setup: TrialSetup,
  trial: number,
  dir: string,
  kill: { runMs: number } | undefined,
): Promise<{ result: TrialResult; durationMs: number; missed: boolean }> {
  const result: TrialResult = {
    trial,
    kills: 0,
    resumes: 0,
    restarts: 0,
    volumes: 0,
    missedKills: 0,
    killMoments: [],
    killStages: [],
    problems: [],
    dataLost: false,
  };
  let durationMs = 0;
  const moto = await startMoto();
  const rules = startChecksumRulesProxy({ target: moto.endpoint });
  try {
    await Deno.mkdir(dir, { recursive: true });
    const bucket = `crash-${trial}`;
    await createBucket(moto.endpoint, bucket);
    const env = {
      ...testAwsEnv(rules.endpoint),
      AWS_CONFIG_FILE: join(dir, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-aws-credentials"),
    };
    const stateDir = join(dir, "state");
    const backupArgs = [
      "backup",
      "--src-dirs",
      setup.src,
      "--bucket",
      bucket,
      "--test-run",
      "--volume-size",
      setup.volumeSize,
      "--state-dir",
      stateDir,
      join(dir, "work", "vol.tar"),
    ];
    /** State databases set aside (a backup started again instead), with why they would not open. */
    const abandoned = new Map<string, string>();
    const run = async (args: string[]): Promise<CliResult | "killed"> => {
      const started = Date.now();
      const process = spawnCli(args, { env });
      const delay = kill && result.resumes < setup.maxKilledResumes
        ? Math.floor(setup.random() * kill.runMs)
        : undefined;
      const outcome = await killAfter(process, delay, setup.timeoutMs);
      durationMs = Date.now() - started;
      if (outcome === "killed") {
        result.kills++;
        result.killMoments.push(delay!);
        result.killStages.push(await killStage(stateDir, abandoned));
      }
      return outcome;
    };

    let finished: CliResult | undefined;
    let attempt = await run(backupArgs);
    if (kill && attempt !== "killed" && attempt.code === 0) {
      return { result, durationMs, missed: true };
    }
    let stateDb: string | undefined;
    for (let round = 0; round < 100; round++) {
      if (attempt !== "killed") {
        finished = attempt;
        break;
      }
      stateDb = await usableStateDb(stateDir, abandoned);
      if (stateDb === undefined) {
        result.restarts++;
        attempt = await run(backupArgs);
      } else {
        result.resumes++;
        attempt = await run(["resume", stateDb]);
      }
    }
    if (!finished) {
      result.problems.push("no run finished after 100 attempts");
      return { result, durationMs, missed: false };
    }
    if (finished.code !== 0) {
      result.problems.push(`last run exited ${finished.code}: ${lastLines(finished.stderr)}`);
      return { result, durationMs, missed: false };
    }
    stateDb ??= await usableStateDb(stateDir, abandoned);
    if (stateDb === undefined) {
      result.problems.push("no state database after a successful run");
      return { result, durationMs, missed: false };
    }
    await checkFinishedBackup(result, { moto, bucket, env, stateDb, dir, src: setup.src });
    // The proxy's listings say each upload's algorithm: a completion it refused is a wrong one.
    for (const refusal of rules.completions.refused) {
      result.problems.push(`completion refused under S3's rules: ${refusal}`);
    }
    if (result.problems.length > 0) {
      result.problems.push(`output of the last run: ${lastLines(finished.stderr)}`);
      // A backup started again leaves the first one's objects: say why its database was set aside.
      for (const [path, why] of abandoned) {
        result.problems.push(`set aside ${basename(path)}: ${why}`);
      }
    }
  } catch (error) {
    result.problems.push(`harness error: ${error instanceof Error ? error.message : error}`);
  } finally {
    await rules.close();
    await moto.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return { result, durationMs, missed: false };
}

/** Checks the bucket, restores with the reference tools, compares, and runs `glacier verify`. */
async function checkFinishedBackup(
  result: TrialResult,
  ctx: {
    moto: MotoServer;
    bucket: string;
    env: Record<string, string>;
    stateDb: string;
    dir: string;
    src: string;
  },
): Promise<void> {
  const storage = testStorage(ctx.moto.endpoint, ctx.bucket);
  const catalog = Catalog.open(ctx.stateDb);
  result.volumes = catalog.volumes().length;
  const folder = backupFolderKey(catalog.settings());
  catalog.close();
  result.problems.push(...await bucketProblems(ctx.stateDb, storage));
  for await (const object of storage.listObjects("")) {
    if (!object.key.startsWith(folder)) result.problems.push(`stray object ${object.key}`);
  }
  for (const upload of await storage.listMultipartUploads("")) {
    if (!upload.key.startsWith(folder)) {
      result.problems.push(`stray multipart upload of ${upload.key}`);
    }
  }
  try {
    const restored = await restoreWithReferenceTools(ctx.stateDb, storage, join(ctx.dir, "out"));
    const differences = await diffRestored(ctx.src, restored.dest);
    if (differences.length > 0) {
      result.dataLost = true;
      result.problems.push(
        `restored tree differs (${differences.length}): ${differences.slice(0, 5).join(", ")}`,
      );
    }
  } catch (error) {
    result.dataLost = true;
    result.problems.push(`restore failed: ${error instanceof Error ? error.message : error}`);
  }
  const verify = spawnCli(["verify", ctx.stateDb], { env: ctx.env });
  const verified = await killAfter(verify, undefined, 120_000);
  if (verified === "killed" || verified.code !== 0) {
    const problems = verified === "killed"
      ? "timed out"
      : verified.stdout.split("\n").filter((line) => line.startsWith("problem: ")).join(" | ") ||
        lastLines(verified.stderr);
    result.problems.push(`glacier verify failed: ${problems}`);
  }
}

/**
 * Waits for the process; kills it `delayMs` after the start if it is still running then, or
 * after `timeoutMs` in any case (a hang). Resolves to "killed" when the delayed kill landed.
 */
async function killAfter(
  process: CliProcess,
  delayMs: number | undefined,
  timeoutMs: number,
): Promise<CliResult | "killed"> {
  let killed = false;
  let hung = false;
  const timers = [
    setTimeout(() => {
      hung = process.kill();
    }, timeoutMs),
  ];
  if (delayMs !== undefined) {
    timers.push(setTimeout(() => {
      killed = process.kill();
    }, delayMs));
  }
  const result = await process.result;
  for (const timer of timers) clearTimeout(timer);
  if (hung) throw new Error(`a glacier process ran longer than ${timeoutMs / 1000} s`);
  return killed ? "killed" : result;
}

/** The stage a killed run left the backup in, read from its catalog. */
async function killStage(
  stateDir: string,
  abandoned: Map<string, string>,
): Promise<KillStage> {
  const stateDb = await usableStateDb(stateDir, new Map(abandoned));
  if (stateDb === undefined) return "before the state database";
  const catalog = Catalog.open(stateDb);
  try {
    const phase = catalog.phase();
    if (phase === "scanning") return "scanning";
    if (phase === "done") return "marked done";
    const volumes = catalog.volumes();
    const share = volumes.filter((v) => v.state === "uploaded").length / volumes.length;
    return KILL_STAGES[2 + Math.min(3, Math.floor(share * 4))];
  } finally {
    catalog.close();
  }
}

/**
 * The state database to resume: the newest one in `stateDir` that opens as a catalog. A kill in
 * the first milliseconds can leave an empty file (`Catalog.create` makes the file, then the
 * schema); such a file is set aside, and a new backup is started instead, as a user would.
 */
async function usableStateDb(
  stateDir: string,
  abandoned: Map<string, string>,
): Promise<string | undefined> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(stateDir)) {
      if (entry.isFile && backupIdOfStateDbName(entry.name) !== undefined) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  for (const name of names.sort().reverse()) {
    const path = join(stateDir, name);
    if (abandoned.has(path)) continue;
    try {
      Catalog.open(path).close();
      return path;
    } catch (error) {
      abandoned.set(path, error instanceof Error ? error.message : String(error));
    }
  }
  return undefined;
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-5).join(" | ");
}
