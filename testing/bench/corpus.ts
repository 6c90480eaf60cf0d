/**
 * The bench's corpora, generated deterministically under `.bench/` and reused while their
 * manifest (generator version and parameters) matches: the mixed corpus (half random bytes,
 * a third text, the rest in 20,000 small text files), a tree of tiny files, and one file of random
 * bytes for the upload. Random bytes come from AES-256-CTR with a fixed key: incompressible and
 * the same on every machine.
 */
import { createCipheriv } from "node:crypto";
import { join } from "node:path";

/** Bumped whenever a generator changes what it writes. */
const GENERATOR_VERSION = 3;

/** A generated corpus: where it is and what it holds. */
export interface Corpus {
  path: string;
  files: number;
  bytes: number;
}

/** Returns the corpus at `path` if its manifest matches `params`; otherwise (re)generates it. */
async function ensure(
  path: string,
  params: Record<string, unknown>,
  generate: () => Promise<{ files: number; bytes: number }>,
): Promise<Corpus> {
  const manifestPath = `${path}.manifest.json`;
  const wanted = JSON.stringify({ version: GENERATOR_VERSION, ...params });
  try {
    const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
    if (JSON.stringify(manifest.params) === wanted) return { path, ...manifest.totals };
  } catch {
    // missing or unreadable: generate
  }
  await Deno.remove(manifestPath).catch(() => {});
  await Deno.remove(path, { recursive: true }).catch(() => {});
  const totals = await generate();
  await Deno.writeTextFile(
    manifestPath,
    JSON.stringify({ params: JSON.parse(wanted), totals }),
  );
  return { path, ...totals };
}

/** ~`totalMb` MB: 50% in 4 random files, 35% in 20 text files, 15% in 20,000 small text files. */
export function mixedCorpus(root: string, totalMb: number): Promise<Corpus> {
  const path = join(root, `mixed-${totalMb}mb`);
  return ensure(path, { kind: "mixed", totalMb }, async () => {
    const mb = 1_000_000;
    let files = 0;
    let bytes = 0;
    for (let i = 0; i < 4; i++) {
      const size = Math.floor(totalMb * 0.5 * mb / 4);
      await writeRandomFile(join(path, "big", `random-${i}.bin`), size, i);
      files++;
      bytes += size;
    }
    await Deno.mkdir(join(path, "text"), { recursive: true });
    for (let i = 0; i < 20; i++) {
      const size = Math.floor(totalMb * 0.35 * mb / 20);
      using file = await Deno.open(join(path, "text", `doc-${i}.txt`), {
        write: true,
        create: true,
      });
      for (let left = size, seed = 1000 * i; left > 0; left -= 1 << 20, seed++) {
        await file.write(textBytes(Math.min(left, 1 << 20), seed));
      }
      files++;
      bytes += size;
    }
    const smallSize = Math.floor(totalMb * 0.15 * mb / 20_000);
    for (let i = 0; i < 20_000; i++) {
      const folder = join(path, "small", String(i % 100));
      if (i < 100) Deno.mkdirSync(folder, { recursive: true });
      Deno.writeFileSync(join(folder, `f-${i}.txt`), textBytes(smallSize, i));
      files++;
      bytes += smallSize;
    }
    return { files, bytes };
  });
}

/** `count` files of 20-400 bytes of text, 100 to a folder (300,000 files: 3,000 folders). */
export function tinyCorpus(root: string, count: number): Promise<Corpus> {
  const path = join(root, `tiny-${count}`);
  return ensure(path, { kind: "tiny", count }, () => {
    let bytes = 0;
    let x = 12345;
    for (let i = 0; i < count; i++) {
      const folder = join(path, `d${String(Math.floor(i / 100)).padStart(5, "0")}`);
      if (i % 100 === 0) Deno.mkdirSync(folder, { recursive: true });
      x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
      const size = 20 + ((x >>> 8) % 381);
      Deno.writeFileSync(join(folder, `f${i}.txt`), textBytes(size, i));
      bytes += size;
    }
    return Promise.resolve({ files: count, bytes });
  });
}

/** One file of `mib` MiB of random bytes. */
export async function randomFile(root: string, mib: number): Promise<Corpus> {
  const path = join(root, `upload-${mib}mib.bin`);
  return await ensure(path, { kind: "random-file", mib }, async () => {
    await writeRandomFile(path, mib * 1024 * 1024, 99);
    return { files: 1, bytes: mib * 1024 * 1024 };
  });
}

async function writeRandomFile(path: string, size: number, seed: number): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  const key = new Uint8Array(32).fill(seed);
  const cipher = createCipheriv("aes-256-ctr", key, new Uint8Array(16));
  const zeros = new Uint8Array(1 << 20);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let left = size; left > 0; left -= zeros.length) {
    const chunk = cipher.update(zeros.subarray(0, Math.min(left, zeros.length)));
    for (let written = 0; written < chunk.length;) {
      written += await file.write(chunk.subarray(written));
    }
  }
}

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

const encoder = new TextEncoder();

/** `size` bytes of text drawn from `WORDS`, the same for the same seed. */
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
  return encoder.encode(parts.join("").slice(0, size));
}
