/**
 * `deno task bench`: times `glacier backup` to a `file://` bucket against the Unix pipeline
 * `tar -cf - DIR | zstd -3 | age -r KEY > out` on the same corpus, in the same run, and reports
 * the ratio and glacier's peak memory (VmHWM). The corpus (~800 MB: big random files, text files
 * and 20,000 small files) is generated once under .bench/ and reused.
 *
 * Options: --runs N (default 3), --corpus-mb N (default 800), --keep (keep outputs).
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

/**
 * A 4,096-word vocabulary of made-up words: text drawn from it compresses about as well as real
 * prose (zstd -3 gets roughly 3:1), unlike a handful of repeated words.
 */
const WORDS = (() => {
  let x = 0x9e3779b9;
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 8;
  return Array.from({ length: 4096 }, () => {
    let word = "";
    for (let n = 2 + (next() % 9); n > 0; n--) word += String.fromCharCode(97 + (next() % 26));
    return word;
  });
})();

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    "corpus-mb": { type: "string", default: "800" },
  },
});
const runs = Number(values.runs);
const corpusMb = Number(values["corpus-mb"]);
const root = resolve(".bench");
const corpus = join(root, `corpus-v2-${corpusMb}`);
const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

await Deno.mkdir(root, { recursive: true });
const stats = await ensureCorpus(corpus, corpusMb);
console.log(`corpus: ${(stats.bytes / 1e6).toFixed(0)} MB in ${stats.files} files (${corpus})`);

const keyFile = join(root, "bench.key");
await run("bash", ["-c", `rm -f '${keyFile}' && age-keygen -o '${keyFile}' 2>/dev/null`]);
const recipient = (await Deno.readTextFile(keyFile)).match(/public key: (age1\S+)/)![1];

const pipelineTimes: number[] = [];
const glacierTimes: number[] = [];
const glacierRss: number[] = [];
const pipelineRss: number[] = [];
for (let i = 0; i < runs; i++) {
  const out = join(root, "pipeline.tar.zst.age");
  const pipe = await measure("bash", [
    "-c",
    `tar -cf - '${corpus}' 2>/dev/null | zstd -3 -q | age -r ${recipient} > '${out}'`,
  ]);
  pipelineTimes.push(pipe.seconds);
  pipelineRss.push(pipe.peakRssKiB);
  await Deno.remove(out);

  const bucket = join(root, "bucket");
  const state = join(root, "state");
  await Deno.remove(bucket, { recursive: true }).catch(() => {});
  await Deno.remove(state, { recursive: true }).catch(() => {});
  await Deno.mkdir(bucket, { recursive: true });
  const g = await measure(Deno.execPath(), [
    "run",
    "--allow-all",
    "--quiet",
    MAIN,
    "backup",
    "--src-dirs",
    corpus,
    "--bucket",
    `file://${bucket}`,
    "--state-dir",
    state,
    join(root, "work", "bench.tar"),
  ]);
  glacierTimes.push(g.seconds);
  glacierRss.push(g.peakRssKiB);
  console.log(
    `run ${i + 1}: pipeline ${pipe.seconds.toFixed(2)} s, glacier ${g.seconds.toFixed(2)} s, ` +
      `glacier peak RSS ${(g.peakRssKiB / 1024).toFixed(0)} MiB`,
  );
}

const p = median(pipelineTimes);
const g = median(glacierTimes);
const mb = stats.bytes / 1e6;
console.log("\n| command | median wall (s) | MB/s | ratio | peak RSS (MiB) |");
console.log("|---|---|---|---|---|");
console.log(
  `| tar \\| zstd -3 \\| age | ${p.toFixed(2)} | ${(mb / p).toFixed(0)} | 1.00 | ` +
    `${(Math.max(...pipelineRss) / 1024).toFixed(0)} (largest stage) |`,
);
console.log(
  `| glacier backup (file://) | ${g.toFixed(2)} | ${(mb / g).toFixed(0)} | ${
    (g / p).toFixed(2)
  } | ` +
    `${(Math.max(...glacierRss) / 1024).toFixed(0)} |`,
);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
}

/** Runs a command, sampling the peak RSS of it and its children from /proc. */
async function measure(cmd: string, args: string[]) {
  const started = performance.now();
  const child = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).spawn();
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, ...processTree(child.pid).map(peakRssKiB));
  }, 20);
  const status = await child.output();
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  if (!status.success) {
    throw new Error(`${cmd} failed: ${new TextDecoder().decode(status.stderr)}`);
  }
  return { seconds, peakRssKiB: peak };
}

function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      const children = Deno.readTextFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`);
      pids.push(...children.trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // The process ended between samples.
    }
  }
  return pids;
}

function peakRssKiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Creates the corpus if it is not there: 50% random, 35% text, 15% in 20,000 small files. */
async function ensureCorpus(dir: string, totalMb: number) {
  const done = join(dir, ".complete");
  try {
    await Deno.stat(done);
  } catch {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(dir, { recursive: true });
    const mb = 1_000_000;
    const bigCount = 4;
    for (let i = 0; i < bigCount; i++) {
      await writeRandom(
        join(dir, "big", `random-${i}.bin`),
        Math.floor(totalMb * 0.5 * mb / bigCount),
      );
    }
    const textCount = 20;
    for (let i = 0; i < textCount; i++) {
      await writeText(
        join(dir, "text", `doc-${i}.txt`),
        Math.floor(totalMb * 0.35 * mb / textCount),
      );
    }
    const small = 20_000;
    const smallSize = Math.floor(totalMb * 0.15 * mb / small);
    for (let i = 0; i < small; i++) {
      const path = join(dir, "small", String(i % 100), `f-${i}.txt`);
      if (i < 100) await Deno.mkdir(join(dir, "small", String(i)), { recursive: true });
      await Deno.writeFile(path, textBytes(smallSize, i));
    }
    await Deno.writeTextFile(done, "");
  }
  let bytes = 0;
  let files = 0;
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else {
        files++;
        bytes += (await Deno.stat(p)).size;
      }
    }
  };
  await walk(dir);
  return { bytes, files };
}

async function writeRandom(path: string, size: number) {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  using f = await Deno.open(path, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(1 << 20);
  for (let left = size; left > 0; left -= chunk.length) {
    for (let i = 0; i < chunk.length; i += 65536) {
      crypto.getRandomValues(chunk.subarray(i, i + 65536));
    }
    await f.write(chunk.subarray(0, Math.min(left, chunk.length)));
  }
}

function textBytes(size: number, seed: number): Uint8Array {
  let x = (Math.imul(seed, 2654435761) + 1) & 0x7fffffff;
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    const high = x >>> 12; // an LCG's low bits repeat quickly
    const word = WORDS[high % WORDS.length] + (high % 13 === 0 ? ".\n" : " ");
    parts.push(word);
    length += word.length;
  }
  return new TextEncoder().encode(parts.join("").slice(0, size));
}

async function writeText(path: string, size: number) {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  using f = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let left = size, seed = size; left > 0; left -= 1 << 20, seed++) {
    await f.write(textBytes(Math.min(left, 1 << 20), seed));
  }
}
