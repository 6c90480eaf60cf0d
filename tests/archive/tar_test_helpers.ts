/** Shared helpers of the TAR tests: building archives, feeding streams, running GNU tar. */
import {
  encodeTarHeader,
  TAR_END_OF_ARCHIVE,
  type TarEntry,
  tarPaddingLength,
} from "../../lib/archive/tar_header.ts";
import { readTar, type TarReadEntry } from "../../lib/archive/tar_reader.ts";
import { concatBytes } from "../../testing/bytes.ts";
import { seededRandom } from "../../testing/seeded_random.ts";

/** An entry plus the content of a file entry. */
export interface Member {
  entry: TarEntry;
  content?: Uint8Array;
}

/** A complete archive written with the encoder: headers, contents, padding, end blocks. */
export function buildArchive(members: Member[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const { entry, content } of members) {
    parts.push(encodeTarHeader(entry));
    if (entry.type === "file") {
      const bytes = content ?? new Uint8Array(0);
      if (bytes.length !== entry.size) throw new Error(`content size mismatch for ${entry.path}`);
      parts.push(bytes, new Uint8Array(tarPaddingLength(bytes.length)));
    }
  }
  parts.push(TAR_END_OF_ARCHIVE);
  return concatBytes(parts);
}

/** `length` pseudo-random bytes. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const next = seededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** Streams `bytes` in chunks of random sizes between `min` and `max`. */
export function chunkedStream(
  bytes: Uint8Array,
  seed = 1,
  min = 1,
  max = 700,
): ReadableStream<Uint8Array> {
  const next = seededRandom(seed);
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      const size = min + Math.floor(next() * (max - min + 1));
      // Copy, so that a reader holding on to a chunk cannot see it reused.
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

/** Reads a whole stream. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return concatBytes(parts);
}

/** Every member of an archive stream with its content. */
export async function readMembers(
  input: ReadableStream<Uint8Array>,
): Promise<{ entry: TarReadEntry; content: Uint8Array }[]> {
  const out: { entry: TarReadEntry; content: Uint8Array }[] = [];
  for await (const { entry, body } of readTar(input)) {
    out.push({ entry, content: await readAll(body) });
  }
  return out;
}

/** Runs a command; throws with its stderr if it fails unless `allowFailure`. */
export async function run(
  command: string,
  args: string[],
  options: { cwd?: string; allowFailure?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await new Deno.Command(command, {
    args,
    cwd: options.cwd,
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C.UTF-8", TZ: "UTC" },
  }).output();
  const decoder = new TextDecoder();
  const out = {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
  if (out.code !== 0 && !options.allowFailure) {
    throw new Error(`${command} ${args.join(" ")} failed (${out.code}): ${out.stderr}`);
  }
  return out;
}

/** Recomputes the checksum of the header block at `offset`, as GNU tar writes it. */
export function fixChecksum(archive: Uint8Array, offset: number) {
  const block = archive.subarray(offset, offset + 512);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
}

/** Writes `value` into a numeric header field in GNU base-256 (two's complement, high bit set). */
export function setBase256(block: Uint8Array, offset: number, length: number, value: number) {
  const modulus = 1n << BigInt(8 * length);
  let rest = ((BigInt(value) % modulus) + modulus) % modulus;
  for (let i = offset + length - 1; i >= offset; i--) {
    block[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  block[offset] |= 0x80;
}

/** One archive for `parseInWorker`, and what to do with the member bodies. */
export interface ParseCase {
  bytes: Uint8Array;
  /** Seed of the random input chunking (see `chunkedStream`). */
  chunkSeed: number;
  /** Smallest and largest input chunk; 1 to 700 bytes if not given. */
  chunkSizes?: [number, number];
  /** Read every body to its end, leave them all to the reader, or read a little then cancel. */
  bodies: "read" | "skip" | "cancel";
}

/** How reading one `ParseCase` ended. */
export interface ParseOutcome {
  index: number;
  entries: number;
  /** Body bytes read (with bodies "read"). */
  bodyBytes: number;
  /** What the reader threw, if anything. */
  error?: { name: string; message: string };
  /** Set when the reader produced more entries or body bytes than the input can hold. */
  runaway?: string;
}

/**
 * Reads each archive with `readTar` in a worker, in order; rejects naming the case if one takes
 * longer than `stallMs` (the worker is then terminated, which also ends a synchronous loop).
 */
export function parseInWorker(cases: ParseCase[], stallMs: number): Promise<ParseOutcome[]> {
  const outcomes: ParseOutcome[] = [];
  if (cases.length === 0) return Promise.resolve(outcomes);
  const worker = new Worker(new URL("./tar_parse_worker.ts", import.meta.url).href, {
    type: "module",
  });
  return new Promise<ParseOutcome[]>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      worker.terminate();
      if (error) reject(error);
      else resolve(outcomes);
    };
    const watch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        finish(new Error(`TAR case ${outcomes.length} did not end within ${stallMs} ms`));
      }, stallMs);
    };
    // The worker says when it is loaded (type-checking it can take seconds): only then is the
    // clock started.
    worker.onmessage = (event: MessageEvent<ParseOutcome | "ready">) => {
      if (event.data === "ready") {
        watch();
        worker.postMessage(cases);
        return;
      }
      outcomes.push(event.data);
      if (outcomes.length === cases.length) finish();
      else watch();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      finish(new Error(`TAR parse worker failed: ${event.message}`));
    };
  });
}
