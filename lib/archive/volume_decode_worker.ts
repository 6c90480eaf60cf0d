/**
 * Worker side of `decodeVolumeFile` (volume_decoder.ts): reads the volume file, decodes it
 * (`decodeVolume`: age decrypt, then decompress) and sends the TAR bytes in batches of
 * `batchBytes`, each a buffer of its own, transferred; it sends one only while fewer than
 * `ahead` of those it sent are unread, and stops at the first error, which it sends by name,
 * message and code.
 */
import type { DecodeMore, DecodeReply, DecodeStart } from "./volume_decoder.ts";
import { decodeVolume } from "./volume_format.ts";
import { SequentialRelease } from "../memory/buffer_release.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<DecodeStart | DecodeMore>) => void;
  postMessage: (message: DecodeReply, transfer?: ArrayBuffer[]) => void;
};

/** Batches the main thread still lets this worker send; a sender waiting for leave. */
let leave = 0;
let leaveGiven: (() => void) | undefined;

scope.onmessage = ({ data }) => {
  if (data.type === "more") {
    leave++;
    const resolve = leaveGiven;
    leaveGiven = undefined;
    resolve?.();
    return;
  }
  leave = data.ahead;
  decode(data).catch((error) => {
    const { name, message, code } = error as Error & { code?: unknown };
    scope.postMessage({
      type: "error",
      name: typeof name === "string" ? name : "Error",
      message: typeof message === "string" ? message : String(error),
      code: typeof code === "string" ? code : undefined,
    });
  });
};

async function decode(job: DecodeStart): Promise<void> {
  const tar = decodeVolume(readFile(job.path), job.format, job.identities);
  let batch = new Uint8Array(job.batchBytes);
  let used = 0;
  const release = new SequentialRelease();
  const send = async () => {
    while (leave === 0) {
      await new Promise<void>((resolve) => {
        leaveGiven = resolve;
      });
    }
    leave--;
    const bytes = used === batch.length ? batch : batch.slice(0, used);
    scope.postMessage({ type: "batch", bytes }, [bytes.buffer]);
    batch = new Uint8Array(job.batchBytes);
    used = 0;
  };
  for await (const chunk of tar) {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, batch.length - used);
      batch.set(chunk.subarray(offset, offset + n), used);
      used += n;
      offset += n;
      if (used === batch.length) await send();
    }
    // Copied. The decompressor fills its buffers front to back: once a piece is in a new buffer,
    // the previous one is spent and is freed now, not when V8 next collects (tens of MiB).
    release.consumed(chunk);
  }
  release.finish();
  if (used > 0) await send();
  scope.postMessage({ type: "end" });
}

/** Bytes read from the volume file at a time. */
const READ_BYTES = 1 << 20;

/**
 * The volume file's bytes in 1 MiB reads, each into a buffer of its own (the decryptor frees it
 * once read), with plain calls: this thread has nothing else to do meanwhile, and an async read
 * of 64 KiB (`file.readable`) cost more in hand-overs than in reading.
 */
function readFile(path: string): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | undefined;
  const close = () => {
    file?.close();
    file = undefined;
  };
  return new ReadableStream<Uint8Array>({
    start() {
      file = Deno.openSync(path, { read: true });
    },
    pull(controller) {
      const buffer = new Uint8Array(READ_BYTES);
      const read = file!.readSync(buffer);
      if (read === null) {
        close();
        controller.close();
      } else controller.enqueue(read === buffer.length ? buffer : buffer.subarray(0, read));
    },
    cancel: close,
  }, { highWaterMark: 0 });
}
