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
