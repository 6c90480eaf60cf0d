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
  const file = await Deno.open(job.path, { read: true });
  const tar = decodeVolume(file.readable, job.format, job.identities);
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
