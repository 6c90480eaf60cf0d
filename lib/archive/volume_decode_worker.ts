/**
 * Worker side of `decodeVolumeFile` (volume_decoder.ts): reads the volume file (checking its size
 * and SHA-256 first when asked, through the same handle), decodes it
 * (`decodeVolume`: age decrypt, then decompress) and sends the TAR bytes, transferred (not
 * copied): a long run of bytes in the buffer the decompressor wrote it in, short pieces gathered
 * in batches of `batchBytes`. It sends one only while fewer than `ahead` of those it sent are
 * unread, and stops at the first error, which it sends by name, message and code
 * (worker_errors.ts).
 */
import type { DecodeMore, DecodeReply, DecodeStart, VerifyStart } from "./volume_decoder.ts";
import { decodeVolume } from "./volume_format.ts";
import { freeBuffer } from "../memory/buffer_release.ts";
import { BufferRuns } from "./buffer_runs.ts";
import { postedError } from "./worker_errors.ts";
import { createHash } from "node:crypto";
import {
  ChecksumError,
  hashMismatch,
  onlyOursToWrite,
  sizeMismatch,
  type VolumeCheck,
} from "./volume_check.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<DecodeStart | DecodeMore | VerifyStart>) => void;
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
  if (data.type === "verify") {
    try {
      const file = Deno.openSync(data.path, { read: true });
      try {
        const info = refuseIfOthersCanWrite(file, data.check.key);
        postOpened(info);
        verify(file, info, data.check);
      } finally {
        file.close();
      }
      scope.postMessage({ type: "end" });
    } catch (error) {
      scope.postMessage({ type: "error", ...postedError(error) });
    }
    return;
  }
  leave = data.ahead;
  decode(data).catch((error) => scope.postMessage({ type: "error", ...postedError(error) }));
};

/** A run of TAR bytes at least this long is sent in the buffer it lies in, not copied. */
const SEND_IN_PLACE_BYTES = 256 * 1024;

async function decode(job: DecodeStart): Promise<void> {
  const file = Deno.openSync(job.path, { read: true });
  try {
    if (job.identify || job.check) {
      const info = refuseIfOthersCanWrite(file, job.check?.key ?? job.path);
      if (job.identify) postOpened(info);
      if (job.check) verify(file, info, job.check);
    }
  } catch (error) {
    file.close();
    throw error;
  }
  const tar = decodeVolume(readFile(file), job.format, job.identities, { ownInput: true });
  let batch = new Uint8Array(job.batchBytes);
  let used = 0;
  const post = async (bytes: Uint8Array<ArrayBuffer>) => {
    while (leave === 0) {
      await new Promise<void>((resolve) => {
        leaveGiven = resolve;
      });
    }
    leave--;
    scope.postMessage({ type: "batch", bytes }, [bytes.buffer]);
  };
  const sendBatch = async () => {
    if (used === 0) return;
    const bytes = used === batch.length ? batch : batch.slice(0, used);
    batch = new Uint8Array(job.batchBytes);
    used = 0;
    await post(bytes);
  };
  /** Sends a finished run: in its own buffer if long, else copied into the batch. */
  const sendRun = async (run: Uint8Array<ArrayBuffer>) => {
    if (run.length >= SEND_IN_PLACE_BYTES) {
      await sendBatch();
      await post(run);
      return;
    }
    let offset = 0;
    while (offset < run.length) {
      const n = Math.min(run.length - offset, batch.length - used);
      batch.set(run.subarray(offset, offset + n), used);
      used += n;
      offset += n;
      if (used === batch.length) await sendBatch();
    }
    freeBuffer(run.buffer);
  };
  // Every stage fills its buffers front to back (see buffer_runs.ts): a finished run's buffer is
  // written no more, so it is sent as it is (transferred: no copy) or, when short, copied and
  // freed.
  const runs = new BufferRuns();
  for await (const chunk of tar) {
    for (const run of runs.push(chunk)) await sendRun(run);
  }
  for (const run of runs.finish()) await sendRun(run);
  await sendBatch();
  scope.postMessage({ type: "end" });
}

/** Bytes read from the volume file at a time. */
const READ_BYTES = 1 << 20;

/** Tells the main thread which file was opened (device and inode), to compare with another handle. */
function postOpened({ dev, ino }: Deno.FileInfo): void {
  scope.postMessage({ type: "opened", dev, ino });
}

/**
 * Refuses a volume read where it lies that someone else could write (see `onlyOursToWrite`): the
 * main thread reads such volumes through a copy, so this one was put in place after it looked.
 * Returns what the open handle's file is, for the caller's own checks.
 */
function refuseIfOthersCanWrite(file: Deno.FsFile, name: string): Deno.FileInfo {
  const info = file.statSync();
  if (!onlyOursToWrite(info)) {
    throw new ChecksumError(`${name} was replaced while it was read (others can write it now)`);
  }
  return info;
}

/**
 * Hashes the whole of the open volume `file` (`info`: what its handle is) and checks its size and
 * SHA-256 against `check`,
 * then rewinds it: what is decoded next is read through the same handle, so a file swapped for
 * another under the same name after the check is not what gets decoded.
 */
function verify(file: Deno.FsFile, info: Deno.FileInfo, check: VolumeCheck): void {
  if (!info.isFile) throw new ChecksumError(`${check.key} is not a file`);
  const hash = createHash("sha256");
  const buffer = new Uint8Array(READ_BYTES);
  let size = 0;
  for (let read = file.readSync(buffer); read !== null; read = file.readSync(buffer)) {
    size += read;
    // More bytes than recorded: no need to hash them all to refuse the file.
    if (size > check.size) break;
    hash.update(buffer.subarray(0, read));
  }
  if (size !== check.size) throw sizeMismatch(check.key, size, check.size);
  const digest = hash.digest("hex");
  if (digest !== check.sha256) throw hashMismatch(check.key, digest, check.sha256);
  file.seekSync(0, Deno.SeekMode.Start);
}

/**
 * The open volume file's bytes in 1 MiB reads, each into a buffer of its own (the decryptor, or
 * without encryption the decompressor, frees it once read), with plain calls: this thread has
 * nothing else to do meanwhile, and an async read of 64 KiB (`file.readable`) cost more in
 * hand-overs than in reading. Closes the file at its end or when cancelled.
 */
function readFile(opened: Deno.FsFile): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | undefined = opened;
  const close = () => {
    file?.close();
    file = undefined;
  };
  return new ReadableStream<Uint8Array>({
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
