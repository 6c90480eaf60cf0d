/**
 * Checks volumes a user downloaded by hand, fully: each file's size and SHA-256 against the
 * catalog, and every stage decoded to the end: age decryption (so every 64 KiB chunk is
 * authenticated), decompression, and the TAR structure, with the output thrown away. Streams each
 * volume once, in bounded memory.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Catalog, VolumeRecord } from "../catalog/catalog.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { readTar, TarFormatError } from "../archive/tar_reader.ts";
import { decodeVolume } from "../archive/volume_format.ts";
import { AgeError } from "../crypto/age.ts";
import { plural, type VerifyReport } from "./report.ts";
import { quotePath } from "../archive/quote_path.ts";
import type { VerifyProgress } from "./progress.ts";

/** Where the downloaded volumes are and how to decrypt them. */
export interface LocalCheckOptions {
  folder: string;
  /** age identities; without them an encrypted volume is checked by SHA-256 only. */
  identities?: string[];
  signal?: AbortSignal;
  /** Counters a progress display reads (bytes read, volumes checked). */
  progress?: VerifyProgress;
}

/** What reading one volume file found. */
export interface VolumeFileCheck {
  size: number;
  sha256: string;
  /** Why the volume did not decode, prefixed by the stage ("age: ...", "zstd: ..."). */
  decodeError?: string;
  /** False when decoding was skipped (encrypted, and no identity). */
  decoded: boolean;
}

/** Checks every built or uploaded volume found in `options.folder`; adds findings to `report`. */
export async function checkLocalVolumes(
  catalog: Catalog,
  options: LocalCheckOptions,
  report: VerifyReport,
): Promise<void> {
  const settings = catalog.settings();
  const decode = !settings.encrypt || (options.identities ?? []).length > 0;
  let checked = 0;
  let absent = 0;
  const volumes = catalog.volumes().filter((v) => v.state === "uploaded" || v.state === "built");
  const progress = options.progress;
  if (progress) {
    progress.volumesTotal = volumes.length;
    progress.bytesTotal = volumes.reduce((sum, v) => sum + (v.size ?? 0), 0);
  }
  for (const volume of volumes) {
    options.signal?.throwIfAborted();
    const path = join(options.folder, volume.name);
    const shown = quotePath(path);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        report.problem(volume.name, `cannot read ${shown}: ${describe(error)}`);
      } else absent++;
      continue;
    }
    if (!info.isFile) {
      report.problem(volume.name, `${shown} is not a file`);
      continue;
    }
    let result: VolumeFileCheck;
    try {
      result = await checkVolumeFile(path, settings, decode ? options.identities : undefined, {
        signal: options.signal,
        onBytes: progress && ((n) => progress.bytesRead += n),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      report.problem(volume.name, `cannot read ${shown}: ${describe(error)}`);
      continue;
    }
    checked++;
    if (progress) progress.volumesChecked++;
    const trouble = compare(volume, result);
    if (trouble.length > 0) report.problem(volume.name, `${shown}: ${trouble.join("; ")}`);
  }
  if (!decode) {
    report.note(
      "age",
      "no identity to decrypt with (the backup was encrypted to your own keys): volumes were " +
        "checked by size and SHA-256 only; pass --identity FILE to authenticate them too",
    );
  }
  if (checked === 0 && absent > 0) {
    report.problem(
      options.folder,
      `none of the ${plural(absent, "volume")} of this backup is here`,
    );
  }
  const stages = [
    "size",
    "SHA-256",
    ...(decode && settings.encrypt ? ["age authentication"] : []),
    ...(decode && settings.compression !== "none" ? [`${settings.compression} decompression`] : []),
    ...(decode ? ["TAR structure"] : []),
  ];
  report.checked.push(
    `${plural(checked, "volume")} in ${options.folder}: ${stages.join(", ")}` +
      (absent > 0 ? ` (${plural(absent, "volume")} of the backup not in that folder)` : ""),
  );
}

/** What is wrong with a volume file, as short phrases (none when it is intact). */
function compare(volume: VolumeRecord, result: VolumeFileCheck): string[] {
  const trouble: string[] = [];
  if (volume.size === null || volume.sha256 === null) {
    trouble.push("the catalog has no size or SHA-256 for this volume");
  } else if (result.size !== volume.size) {
    trouble.push(`${result.size} bytes, the catalog says ${volume.size} (truncated or extended)`);
  } else if (result.sha256 !== volume.sha256) {
    trouble.push(`SHA-256 ${result.sha256} differs from the catalog's ${volume.sha256}`);
  }
  if (result.decodeError) trouble.push(result.decodeError);
  return trouble;
}

/**
 * Reads the volume file at `path` once: hashes every byte and feeds the bytes through
 * decryption (when `identities` are given, or the backup is unencrypted), decompression and the
 * TAR reader. A decoding failure does not stop the hashing, so both findings are reported.
 */
export async function checkVolumeFile(
  path: string,
  settings: Pick<BackupSettings, "encrypt" | "compression">,
  identities: string[] | undefined,
  options: { signal?: AbortSignal; onBytes?: (bytes: number) => void } = {},
): Promise<VolumeFileCheck> {
  const decoding = !settings.encrypt || identities !== undefined;
  const input = new TransformStream<Uint8Array, Uint8Array>();
  let decoded: Promise<string | undefined> = Promise.resolve(undefined);
  if (decoding) {
    const tar = decodeVolume(input.readable, settings, identities ?? []);
    decoded = drainTar(tar).then(() => undefined, (error) => {
      const stage = error instanceof AgeError
        ? "age"
        : error instanceof TarFormatError
        ? "tar"
        : settings.compression;
      return `${stage}: ${describe(error)}`;
    });
  }
  const writer = input.writable.getWriter();
  let feeding = decoding;
  if (!decoding) writer.abort().catch(() => {});

  const hash = createHash("sha256");
  let size = 0;
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(1 << 20);
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
    options.signal?.throwIfAborted();
    if (n === 0) continue;
    const chunk = buffer.subarray(0, n);
    hash.update(chunk);
    size += n;
    options.onBytes?.(n);
    if (feeding) {
      try {
        await writer.write(chunk.slice());
      } catch {
        feeding = false; // the decoder failed; keep hashing
      }
    }
  }
  if (feeding) await writer.close().catch(() => {});
  const decodeError = await decoded;
  return { size, sha256: hash.digest("hex"), decodeError, decoded: decoding };
}

/** Reads a TAR stream to its end, discarding every member's data. */
async function drainTar(stream: ReadableStream<Uint8Array>): Promise<void> {
  for await (const { body } of readTar(stream)) {
    for await (const _ of body) {
      // discard
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}
