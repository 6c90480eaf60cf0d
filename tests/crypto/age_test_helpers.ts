/** Shared helpers for the age tests: seeded chunking, stream collection, running the age CLI. */

import { createDecryptStream, createEncryptStream } from "../../lib/crypto/age.ts";
import { concatBytes } from "../../testing/bytes.ts";
import { seededRandom } from "../../testing/seeded_random.ts";

/** Deterministic pseudo-random bytes. */
export function testBytes(size: number, seed = 1): Uint8Array {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (random() * 256) | 0;
  return bytes;
}

/** A random piece length: often tiny, often around a chunk, sometimes several MiB. */
function pieceLength(random: () => number): number {
  const kind = random();
  if (kind < 0.3) return 1 + Math.floor(random() * 16);
  if (kind < 0.8) return 1 + Math.floor(random() * 70_000);
  return 1 + Math.floor(random() * 3 * 1024 * 1024);
}

/** A stream of `data` cut into pieces of random sizes (1 byte to 3 MiB). */
export function randomlyChunked(data: Uint8Array, seed: number): ReadableStream<Uint8Array> {
  const random = seededRandom(seed);
  let position = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (position >= data.length) {
        controller.close();
        return;
      }
      const length = pieceLength(random);
      // Hand out copies, so the streams cannot rely on the input staying unchanged.
      controller.enqueue(data.slice(position, position + length));
      position += length;
    },
  });
}

/** A stream of `data` in one piece. */
export function wholeStream(data: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (data.length > 0) controller.enqueue(data);
      controller.close();
    },
  });
}

/** Reads a stream to the end and returns all its bytes. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of stream) pieces.push(piece);
  return concatBytes(pieces);
}

/** What a stream produced before it ended or failed. */
export interface StreamOutcome {
  output: Uint8Array;
  error: unknown;
}

/** Reads a stream until it ends or fails, keeping what it produced before a failure. */
export async function readUntilError(stream: ReadableStream<Uint8Array>): Promise<StreamOutcome> {
  const pieces: Uint8Array[] = [];
  try {
    for await (const piece of stream) pieces.push(piece);
    return { output: concatBytes(pieces), error: undefined };
  } catch (error) {
    return { output: concatBytes(pieces), error };
  }
}

/** Encrypts `data` (fed in random pieces) to `recipients`. */
export function encryptBytes(
  data: Uint8Array,
  recipients: string[],
  seed = 7,
): Promise<Uint8Array> {
  return readAll(randomlyChunked(data, seed).pipeThrough(createEncryptStream(recipients)));
}

/** Decrypts `data` (fed in random pieces) with `identities`. */
export function decryptBytes(
  data: Uint8Array,
  identities: string[],
  seed = 11,
): Promise<Uint8Array> {
  return readAll(randomlyChunked(data, seed).pipeThrough(createDecryptStream(identities)));
}

/** Decrypts `data` and returns what came out before the failure, and the failure. */
export function tryDecrypt(
  data: Uint8Array,
  identities: string[],
  seed = 13,
): Promise<StreamOutcome> {
  return readUntilError(randomlyChunked(data, seed).pipeThrough(createDecryptStream(identities)));
}

/** The result of running a command. */
export interface CommandResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/** Runs a command with optional stdin bytes. */
export async function run(
  command: string,
  args: string[],
  stdin?: Uint8Array,
): Promise<CommandResult> {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Read the output while writing the input, so neither pipe can fill up and block.
  const finished = child.output();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const { code, stdout, stderr } = await finished;
  return { code, stdout, stderr: new TextDecoder().decode(stderr) };
}

/** Runs a command and returns its stdout; throws with its stderr if it fails. */
export async function runOk(
  command: string,
  args: string[],
  stdin?: Uint8Array,
): Promise<Uint8Array> {
  const result = await run(command, args, stdin);
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

/** Runs `body` with a fresh temporary folder, removed afterwards. */
export async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "glacier_age_test_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
