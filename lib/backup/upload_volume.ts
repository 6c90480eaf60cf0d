/**
 * Uploads one built volume. To a store with multipart uploads (S3), the parts go up in parallel
 * (as many as the run's shared upload slots allow) and are recorded in the catalog as they
 * finish, so that an interrupted upload continues with the parts not recorded, and each part is
 * checked by the server against its digest, and here against the server's answer (its CRC32, or
 * the ETag where that is the part's MD5: see `uploadCheckedPart`). To any other
 * store (a folder), the file is put in one atomic step, and an interrupted put is simply made
 * again. The finished object's size is checked against the catalog before the volume counts as
 * uploaded and its local file is deleted.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import type { Catalog, PartRecord, VolumeRecord } from "../catalog/catalog.ts";
import { markVolumeUploaded } from "../catalog/volume_state.ts";
import { partCount, partSizeFor } from "../storage/part_size.ts";
import { md5Of, type PartDigest, partDigest } from "../storage/part_digest.ts";
import {
  type CompletedPart,
  type MultipartStorage,
  type PartListing,
  type Storage,
  StorageError,
  supportsMultipart,
  type UploadedPart,
  type UploadedPartAnswer,
} from "../storage/storage.ts";
import { crashPoint } from "./crash_point.ts";
import { BufferSlots } from "../memory/buffer_slots.ts";

/** Raised when the store holds something other than what was sent. */
export class UploadCheckError extends Error {
  override name = "UploadCheckError";
}

/** The local file of a volume vanished or was cut short before it was uploaded: build it again. */
export class LocalVolumeLostError extends Error {
  override name = "LocalVolumeLostError";
}

/** Progress callbacks of an upload. */
export interface UploadObserver {
  /** Bytes of this volume now stored remotely (counting parts finished in earlier runs). */
  onBytes?: (uploaded: number) => void;
  /** An earlier run's upload continues; `finishedParts` of `totalParts` are already stored. */
  onResume?: (finishedParts: number, totalParts: number) => void;
}

/**
 * Uploads the local file at `path` as `volume` (resuming its recorded multipart upload if the
 * store has multipart uploads and still has it), then marks it uploaded and deletes the local
 * file. Throws `LocalVolumeLostError` when the local file vanishes or is cut short on the way.
 *
 * A multipart upload sends its parts in parallel, one per slot of `slots` it can take: a run
 * shares one `BufferSlots` of `--num-upload-workers` slots among all its volumes, so that at most
 * that many parts are in flight at once and the memory they hold is bounded by the slot count
 * times the part size (2 x 16 MiB by default). The default, one slot, sends one part at a time.
 */
export async function uploadVolume(
  catalog: Catalog,
  storage: Storage,
  volume: VolumeRecord,
  path: string,
  observer: UploadObserver = {},
  signal?: AbortSignal,
  slots: BufferSlots = new BufferSlots(1),
): Promise<void> {
  try {
    await sendVolume(catalog, storage, volume, path, observer, signal, slots);
  } catch (error) {
    if (error instanceof LocalVolumeLostError || signal?.aborted) throw error;
    if (await Deno.lstat(path).then(() => true, () => false)) throw error;
    throw new LocalVolumeLostError(
      `the local copy of ${volume.name} vanished before it was uploaded (${path})`,
      { cause: error },
    );
  }
}

async function sendVolume(
  catalog: Catalog,
  storage: Storage,
  volume: VolumeRecord,
  path: string,
  observer: UploadObserver,
  signal: AbortSignal | undefined,
  slots: BufferSlots,
): Promise<void> {
  if (!volume.uploadId) await refuseForeignObject(storage, volume, path);
  if (supportsMultipart(storage)) {
    return await sendInParts(catalog, storage, volume, path, observer, signal, slots);
  }
  // One atomic put. An upload id recorded by an older version, which emulated multipart uploads
  // in folders, needs nothing more: the store removes that upload's leftovers on the put.
  await storage.putFile(volume.objectKey, path, volume.storageClass);
  observer.onBytes?.(volume.size!);
  await checkAndFinish(catalog, storage, volume, path);
}

/** Sends the volume as a multipart upload whose parts are recorded in the catalog. */
async function sendInParts(
  catalog: Catalog,
  storage: MultipartStorage,
  volume: VolumeRecord,
  path: string,
  observer: UploadObserver,
  signal: AbortSignal | undefined,
  slots: BufferSlots,
): Promise<void> {
  const size = volume.size!;
  const key = volume.objectKey;
  const partSize = volume.partSize ?? partSizeFor(size);
  const partTotal = partCount(size, partSize);
  let uploadId = volume.uploadId;
  let done = new Map<number, PartRecord>();
  // Whether the upload was created for CRC32, so that its completion names each part's CRC32,
  // and whether that is known (the store says, or this run created the upload) or guessed.
  let crc32Upload = await storage.partChecksum() === "crc32";
  let creationKnown = true;

  if (uploadId) {
    const listing = await listingIfOpen(storage, key, uploadId);
    if (!listing) {
      // The upload is gone: completed by a run that died before recording it, or aborted.
      if (await alreadyStored(storage, key, size)) return finish(catalog, volume, path);
      uploadId = null;
    } else {
      done = finishedParts(catalog.parts(volume.id, uploadId), listing.parts);
      // Where the store does not say, the guess is that the upload was created as this program
      // creates them (see `completeUpload`).
      if (listing.checksumAlgorithm !== undefined) {
        crc32Upload = listing.checksumAlgorithm.toUpperCase() === "CRC32";
      } else {
        creationKnown = false;
      }
      observer.onResume?.(done.size, partTotal);
    }
  }
  if (!uploadId) {
    uploadId = await storage.createMultipartUpload(key, volume.storageClass);
    catalog.startUpload(volume.id, uploadId, partSize);
  }

  let uploaded = [...done.values()].reduce((sum, part) => sum + part.size, 0);
  observer.onBytes?.(uploaded);
  const missing: number[] = [];
  for (let partNumber = 1; partNumber <= partTotal; partNumber++) {
    if (!done.has(partNumber)) missing.push(partNumber);
  }
  const cut = { path, size, partSize };
  const sentCrc32s = new Map<number, number>();
  await sendParts(cut, missing, slots, signal, async (partNumber, body) => {
    const sent = await uploadCheckedPart(storage, key, uploadId, partNumber, body);
    catalog.recordPart(volume.id, uploadId, { partNumber, etag: sent.etag, size: body.length });
    if (sent.crc32 !== undefined) sentCrc32s.set(partNumber, sent.crc32);
    crashPoint("after-part-uploaded");
    uploaded += body.length;
    observer.onBytes?.(uploaded);
  });

  const recorded = catalog.parts(volume.id, uploadId);
  const partsFor = async (withCrc32: boolean) =>
    withCrc32 ? await withCrc32s(recorded, sentCrc32s, cut) : recorded;
  try {
    await completeUpload(storage, key, uploadId, size, await partsFor(crc32Upload));
  } catch (error) {
    // A store that does not say how a resumed upload was created may refuse the guess: one begun
    // by an older version, which named no checksum algorithm. The other way is tried once.
    if (creationKnown || !(error instanceof StorageError && error.kind === "permanent")) {
      throw error;
    }
    await completeUpload(storage, key, uploadId, size, await partsFor(!crc32Upload));
  }
  await checkAndFinish(catalog, storage, volume, path);
}

/** Completes an upload; one completed by an earlier try whose answer was lost counts too. */
async function completeUpload(
  storage: MultipartStorage,
  key: string,
  uploadId: string,
  size: number,
  parts: CompletedPart[],
): Promise<void> {
  try {
    await storage.completeMultipartUpload(key, uploadId, parts);
  } catch (error) {
    // A completion that succeeded but whose answer was lost leaves no upload behind.
    if (!(error instanceof StorageError && error.kind === "not-found")) throw error;
    if (!(await alreadyStored(storage, key, size))) throw error;
  }
}

/**
 * Reads the parts `partNumbers` of the file `cut.path` (`cut.size` bytes in parts of
 * `cut.partSize`) one after another, each into a slot of `slots`, and runs `send` on each without
 * waiting for the previous one: as many parts are in flight as slots are free (shared with the
 * run's other volumes). The first failure stops new parts; those in flight are let finish (each
 * is recorded as it finishes, so a resume takes them), then it is thrown.
 */
async function sendParts(
  cut: { path: string; size: number; partSize: number },
  partNumbers: number[],
  slots: BufferSlots,
  signal: AbortSignal | undefined,
  send: (partNumber: number, body: Uint8Array) => Promise<void>,
): Promise<void> {
  if (partNumbers.length === 0) return;
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const file = await Deno.open(cut.path, { read: true });
  try {
    for (const partNumber of partNumbers) {
      signal?.throwIfAborted();
      const offset = (partNumber - 1) * cut.partSize;
      const lease = await slots.acquire(Math.min(cut.partSize, cut.size - offset), signal);
      if (failure) {
        lease.release();
        break;
      }
      let body: Uint8Array;
      try {
        body = await readAt(file, offset, lease.bytes);
      } catch (error) {
        lease.release();
        throw error;
      }
      const task = send(partNumber, body).catch((error) => {
        failure ??= { error };
      }).finally(() => {
        lease.release();
        inFlight.delete(task);
      });
      inFlight.add(task);
    }
  } finally {
    await Promise.all(inFlight);
    file.close();
  }
  if (failure) throw failure.error;
}

/** Checks the stored object's size, then marks the volume uploaded and deletes the local file. */
async function checkAndFinish(
  catalog: Catalog,
  storage: Storage,
  volume: VolumeRecord,
  path: string,
): Promise<void> {
  const info = await storage.headObject(volume.objectKey);
  if (!info || info.size !== volume.size) {
    throw new UploadCheckError(
      `uploaded ${volume.objectKey} but the store reports ` +
        `${info ? `${info.size} bytes` : "no object"}, expected ${volume.size}`,
    );
  }
  await finish(catalog, volume, path);
}

/**
 * Before a volume's first upload, its key must be free: an object already there was written by
 * someone else (another backup that got the same id, to the same bucket and prefix), and
 * overwriting it would destroy that backup. The one exception is this volume's own copy, put by
 * a run that died before recording it (a folder bucket's one-step copy): same size and SHA-256.
 */
async function refuseForeignObject(
  storage: Storage,
  volume: VolumeRecord,
  path: string,
): Promise<void> {
  const existing = await storage.headObject(volume.objectKey);
  if (!existing) return;
  // Only a one-step put can finish without a recorded upload id; a multipart one cannot.
  const maybeOurs = !supportsMultipart(storage) && existing.size === volume.size;
  if (maybeOurs && await storedSha256(storage, volume.objectKey) === volume.sha256) return;
  throw new UploadCheckError(
    `${volume.objectKey} already exists in ${storage.description} and is not this backup's ` +
      `volume: another backup uses the id ${volume.objectKey.split("/").at(-2)}; ` +
      `nothing was overwritten (local copy kept at ${path})`,
  );
}

async function storedSha256(storage: Storage, key: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of await storage.getObject(key)) hash.update(chunk);
  return hash.digest("hex");
}

async function finish(catalog: Catalog, volume: VolumeRecord, path: string): Promise<void> {
  markVolumeUploaded(catalog, volume.id);
  await Deno.remove(path).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

/** Parts both recorded in the catalog and still held by the store, with the same ETag and size. */
function finishedParts(recorded: PartRecord[], listed: UploadedPart[]): Map<number, PartRecord> {
  const mine = new Map(recorded.map((part) => [part.partNumber, part]));
  const done = new Map<number, PartRecord>();
  for (const part of listed) {
    const record = mine.get(part.partNumber);
    if (record && sameEtag(record.etag, part.etag) && record.size === part.size) {
      done.set(part.partNumber, record);
    }
  }
  return done;
}

/** The store's listing of an unfinished upload, or undefined when the upload is gone. */
async function listingIfOpen(
  storage: MultipartStorage,
  key: string,
  uploadId: string,
): Promise<PartListing | undefined> {
  try {
    return await storage.listParts(key, uploadId);
  } catch (error) {
    if (error instanceof StorageError && error.kind === "not-found") return undefined;
    throw error;
  }
}

/**
 * The parts with their CRC32s, for the completion of an upload created for CRC32: those sent by
 * this run as they were sent, those sent by an earlier run from the bytes of the local file
 * (the store's copy must be those bytes: S3 refuses a completion whose CRC32 is not its part's).
 */
async function withCrc32s(
  parts: PartRecord[],
  sent: Map<number, number>,
  cut: { path: string; partSize: number },
): Promise<CompletedPart[]> {
  const completed: CompletedPart[] = [];
  let file: Deno.FsFile | undefined;
  try {
    for (const part of parts) {
      let crc = sent.get(part.partNumber);
      if (crc === undefined) {
        file ??= await Deno.open(cut.path, { read: true });
        crc = await crc32At(file, (part.partNumber - 1) * cut.partSize, part.size);
      }
      completed.push({ ...part, crc32: crc });
    }
  } finally {
    file?.close();
  }
  return completed;
}

/** The CRC32 of `length` bytes of `file` from `offset`, read (`readAt`) 1 MiB at a time. */
async function crc32At(file: Deno.FsFile, offset: number, length: number): Promise<number> {
  const buffer = new Uint8Array(Math.min(length, 1024 * 1024));
  let crc = 0;
  for (let done = 0; done < length; done += buffer.length) {
    const piece = buffer.subarray(0, Math.min(length - done, buffer.length));
    crc = crc32(await readAt(file, offset + done, piece), crc);
  }
  return crc;
}

async function alreadyStored(storage: Storage, key: string, size: number): Promise<boolean> {
  const info = await storage.headObject(key);
  return info !== undefined && info.size === size;
}

/**
 * Uploads a part, re-sending it (up to three times) if the answer shows it arrived altered. The
 * part goes with a digest that the server checks it against (a CRC32, or an MD5 for servers that
 * refuse CRC32), and the answer is checked once more here:
 * - a server that checks CRC32s answers with the CRC32 it computed: it must be ours;
 * - else, where the ETag is the part's MD5 (an unencrypted or SSE-S3 `AES256` object), the ETag
 *   must be our MD5;
 * - else (a server that ignored the CRC32 and whose ETag says nothing of the bytes, as under
 *   SSE-KMS or SSE-C) nothing has checked the part yet: it goes again with its MD5, which every
 *   S3 server checks.
 *
 * Returns the part's ETag, and the CRC32 it went with (if any), for the completion to name.
 */
async function uploadCheckedPart(
  storage: MultipartStorage,
  key: string,
  uploadId: string,
  partNumber: number,
  body: Uint8Array,
): Promise<{ etag: string; crc32?: number }> {
  // Hashed once: the same digest goes with the part and is what the answer is checked against.
  let digest = partDigest(await storage.partChecksum(), body);
  const crc32 = "crc32" in digest ? digest.crc32 : undefined;
  for (let attempt = 1;; attempt++) {
    const answer = await storage.uploadPart(key, uploadId, partNumber, body, digest);
    const verdict = checkAnswer(answer, digest, body);
    if (verdict.ok) return { etag: answer.etag, crc32 };
    if (verdict.unchecked) {
      digest = { md5: md5Of(body) };
      continue;
    }
    if (attempt >= 3) {
      throw new UploadCheckError(
        `part ${partNumber} of ${key} arrived altered three times (${verdict.why})`,
      );
    }
  }
}

type AnswerVerdict = { ok: true } | { ok: false; unchecked: true } | {
  ok: false;
  unchecked: false;
  why: string;
};

/** Whether an UploadPart answer shows the part arrived as sent (see `uploadCheckedPart`). */
function checkAnswer(
  answer: UploadedPartAnswer,
  digest: PartDigest,
  body: Uint8Array,
): AnswerVerdict {
  if ("crc32" in digest && answer.crc32 !== undefined) {
    if (answer.crc32 === digest.crc32) return { ok: true };
    return {
      ok: false,
      unchecked: false,
      why: `CRC32 ${hex32(answer.crc32)}, sent ${hex32(digest.crc32)}`,
    };
  }
  const plain = answer.etag.replaceAll('"', "").toLowerCase();
  // An ETag that is not a bare MD5 (KMS, SSE-C, some S3-compatible servers) cannot be checked.
  if (!etagIsMd5(answer) || !/^[0-9a-f]{32}$/.test(plain)) {
    // Sent with its MD5, the server has checked it; sent with a CRC32 it ignored, nothing has.
    return "md5" in digest ? { ok: true } : { ok: false, unchecked: true };
  }
  const md5 = Buffer.from("md5" in digest ? digest.md5 : md5Of(body)).toString("hex");
  if (plain === md5) return { ok: true };
  return { ok: false, unchecked: false, why: `ETag ${plain}, MD5 ${md5}` };
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, "0");
}

/** True when the answer's ETag is the MD5 of the part: no encryption, or SSE-S3. */
function etagIsMd5(answer: UploadedPartAnswer): boolean {
  const encryption = answer.serverSideEncryption;
  return encryption === undefined || encryption === "" || encryption.toUpperCase() === "AES256";
}

function sameEtag(a: string, b: string): boolean {
  return a.replaceAll('"', "").toLowerCase() === b.replaceAll('"', "").toLowerCase();
}

/** Fills `buffer` from the file at `offset`. */
async function readAt(file: Deno.FsFile, offset: number, buffer: Uint8Array): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) {
      throw new LocalVolumeLostError(`volume file ended early at byte ${offset + filled}`);
    }
    filled += n;
  }
  return buffer;
}
