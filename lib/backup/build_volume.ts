/**
 * Builds one volume file: TAR (packed on a worker thread when the volume holds many small files)
 * -> compression (on worker threads) -> age encryption, SHA-256 and size, and the writes (on a
 * thread of their own when the run gives one: lib/archive/volume_writer.ts) -> local file. See
 * lib/archive/volume_format.ts for the format.
 * The file is written under a `.partial` name and renamed only when complete, and the
 * catalog marks the volume built (with its checksum and the files' outcomes) in one transaction.
 */
import { join } from "node:path";
import type { Catalog, VolumeRecord } from "../catalog/catalog.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { markVolumeBuilt, recordContentHashes } from "../catalog/volume_state.ts";
import { compressOnThisThread, type CompressorPool } from "../archive/compress_pool.ts";
import { holdsManySmallFiles } from "../archive/small_files.ts";
import { compressTar } from "../archive/volume_format.ts";
import {
  type VolumeWriter,
  writeOnThisThread,
  type WrittenVolume,
} from "../archive/volume_writer.ts";
import { type MemoryEntry, type VolumeRecords, volumeTar } from "../archive/volume_tar.ts";
import { volumeTarOnTwoThreads } from "../archive/volume_tar_worker.ts";
import { deletedPathsEntryName } from "../archive/layout.ts";
import { crashPoint } from "./crash_point.ts";

/** What a finished volume build reports. */
export interface BuiltVolume {
  path: string;
  size: number;
  sha256: string;
  entries: number;
  contentBytes: number;
}

/** Progress callbacks of a build. */
export interface BuildObserver {
  /** Content bytes of source files read so far in this volume. */
  onBytes?: (contentBytes: number, entries: number) => void;
}

/** The local path of a volume in the work folder. */
export function localVolumePath(settings: BackupSettings, volume: VolumeRecord): string {
  return join(settings.workDir, volume.name);
}

/**
 * What volume `volumeId` packs, read from the catalog a page at a time: the recorded folders above
 * its first file, then its files.
 */
export function volumeRecords(catalog: Catalog, volumeId: number): VolumeRecords {
  const first = catalog.filesOfVolume(volumeId, 0, 1)[0];
  return {
    preamble: deletedPathsPreamble(catalog, volumeId),
    ancestors: first ? catalog.ancestorFolders(first.path) : [],
    files: catalog.packRecordsOfVolume(volumeId),
  };
}

/**
 * An incremental's first volume starts with the list of the paths deleted since its base (see
 * `deletedPathsEntryName`), one a line; a path holding a line break cannot be listed so.
 */
function deletedPathsPreamble(catalog: Catalog, volumeId: number): MemoryEntry[] {
  if (catalog.baseBackupId() === undefined) return [];
  if (catalog.ownVolumes()[0]?.id !== volumeId) return [];
  const lines: string[] = [];
  for (const path of catalog.deletedPaths()) if (!/[\r\n]/.test(path)) lines.push(`${path}\n`);
  return [{
    archivePath: deletedPathsEntryName(catalog.settings().backupId),
    bytes: new TextEncoder().encode(lines.join("")),
    mtimeMs: Date.now(),
  }];
}

/**
 * Whether `volume` is packed on a worker thread (with this one: `volumeTarOnTwoThreads`): when it
 * holds many small files (`holdsManySmallFiles`), whose packing is mostly system calls and header
 * work a file, and not bytes. The worker costs ~24 MiB (an isolate); measured on a 2-core machine
 * under load ~2, it cut the build of 300,000 files of 20-400 bytes from 4.8-5.2 s to 3.2-3.4 s,
 * and left the 833 MB mixed corpus (41 KiB a file on average) as fast as before with 25-33 MiB
 * more peak RSS. Packing runs on this thread too, whenever it would wait for the worker: that cut
 * the pack phase of the 300,000 files again, 4.0 -> 2.7 s (quiet machine).
 */
export function packsOnWorker(volume: VolumeRecord): boolean {
  return holdsManySmallFiles(volume);
}

/**
 * A volume planned this large or more is written on the run's writer thread (see `writesOnThread`).
 */
export const WRITER_THREAD_MIN_BYTES = 16 * 1024 * 1024;

/**
 * Whether `volume` is encrypted, hashed and written on the run's writer thread: when it holds
 * larger files, whose reading and hashing keep this thread busy (backup of the 833 MB mixed
 * corpus: 2.93 -> 2.71 s, +13 MiB), and is large enough to make up for the thread's start. A
 * volume of many small files gains nothing from it: its packing already keeps both cores busy
 * (300,000 files: 1.02x the time, +9 MiB).
 */
export function writesOnThread(volume: VolumeRecord): boolean {
  return !packsOnWorker(volume) && volume.plannedBytes >= WRITER_THREAD_MIN_BYTES;
}

/** The threads a build may hand work to, shared by the volumes of a run. */
export interface BuildThreads {
  /** Compression workers (without: one stream on this thread). */
  pool?: CompressorPool;
  /**
   * Where the volume file is encrypted, hashed and written (without: this thread); the run gives
   * its writer thread to the volumes `writesOnThread` picks.
   */
  writer?: VolumeWriter;
}

/** Builds `volume` into the work folder and records it as built. */
export async function buildVolume(
  catalog: Catalog,
  settings: BackupSettings,
  volume: VolumeRecord,
  recipients: string[],
  observer: BuildObserver = {},
  signal?: AbortSignal,
  threads: BuildThreads = {},
): Promise<BuiltVolume> {
  const path = localVolumePath(settings, volume);
  const partial = `${path}.partial`;
  const records: VolumeRecords = {
    ...volumeRecords(catalog, volume.id),
    onHashes: (hashes) => recordContentHashes(catalog, hashes),
  };
  // Many small files are packed on a worker thread and this one, beside its catalog work and
  // encryption.
  const onWorker = packsOnWorker(volume);
  const tar = onWorker ? volumeTarOnTwoThreads(records) : volumeTar(records);
  // Their TAR stream comes at the pace of their system calls: zstd keeps up with it here, where
  // this thread would otherwise wait (gzip, four times slower, keeps to the workers).
  const compressor = onWorker && settings.compression === "zstd"
    ? compressOnThisThread
    : threads.pool;
  const compressed = compressTar(tar.stream, settings.compression, compressor);
  const writer = threads.writer ?? writeOnThisThread;
  let written: WrittenVolume;
  try {
    written = await writer.write(compressed, partial, {
      recipients: settings.encrypt ? recipients : undefined,
      // Frames from a pool, and TAR batches (each handed out once by the BatchWriter), are each a
      // buffer of their own; zlib's output on this thread is not.
      ownChunks: settings.compression === "none" || compressor !== undefined,
      onWritten: () => {
        observer.onBytes?.(tar.totals.bytes, tar.totals.entries);
        crashPoint("mid-volume-build");
      },
      signal,
    });
  } catch (error) {
    await Deno.remove(partial).catch(() => {});
    throw error;
  }
  await Deno.rename(partial, path);
  const { size, sha256 } = written;
  markVolumeBuilt(catalog, volume.id, {
    size,
    sha256,
    outcomes: tar.updates,
    hashes: tar.hashes,
  });
  return { path, size, sha256, entries: tar.totals.entries, contentBytes: tar.totals.bytes };
}
