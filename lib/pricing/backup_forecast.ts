/**
 * What a backup would make, without making it (`glacier backup --dry-run`): the source folders are
 * scanned as a real backup scans them, and the files are counted into volumes with the packing
 * rule of lib/archive/volume_packer.ts. Nothing is written and no bucket is touched. Compression cannot be known
 * before compressing, so sizes assume none (an upper bound for compressible data).
 */
import type { NewFile, ProblemRecord } from "../catalog/catalog.ts";
import { scanInWorker } from "../archive/scan_thread.ts";
import { type PackableEntry, type PackedVolume, VolumePacker } from "../archive/volume_packer.ts";
import { TAR_END_OF_ARCHIVE } from "../archive/tar_header.ts";
import { CHUNK_SIZE, PAYLOAD_NONCE_SIZE } from "../crypto/payload.ts";
import { TAG_SIZE } from "../crypto/aead.ts";
import { partCount } from "../storage/part_size.ts";
import { formatBytes } from "../archive/units.ts";
import { formatDollars } from "./money.ts";
import { type PriceTable, storageCostPerMonth, uploadRequestCost } from "./prices.ts";
import { minimumStorageDays } from "../storage/storage_class.ts";

/** What a backup of some folders would hold. */
export interface BackupForecast {
  /** Files, folders and symlinks the backup would take. */
  entries: number;
  /** Bytes of file data. */
  fileBytes: number;
  /** Entries that would be skipped (unreadable, FIFOs, sockets, devices). */
  problems: number;
  /** The first few skipped entries, for a warning. */
  problemSamples: ProblemRecord[];
  volumes: number;
  /** Bytes uploaded, assuming no compression gain. */
  volumeBytes: number;
  /** Multipart upload parts of all volumes. */
  parts: number;
  /** Size of the largest volume. */
  largestVolumeBytes: number;
  /** Of an incremental: the entries unchanged since its base (not packed), and their bytes. */
  unchanged?: { base: string; entries: number; bytes: number };
}

/** What to scan and how the backup would be set up. */
export interface ForecastOptions {
  sourceDirs: string[];
  excludes: string[];
  /** Absolute paths a real backup would leave out (its log file, its volume folder). */
  skipPaths: string[];
  volumeSize: number;
  encrypt: boolean;
  signal?: AbortSignal;
  /** Of an incremental: its base's id, and which scanned files are unchanged since it. */
  base?: { backupId: string; unchanged: (file: NewFile) => boolean };
}

const PROBLEM_SAMPLES = 20;
/** A generous size of an age header with one X25519 recipient. */
const AGE_HEADER_ESTIMATE = 256;

/** Scans the sources and counts the volumes a backup would make. */
export async function forecastBackup(options: ForecastOptions): Promise<BackupForecast> {
  const counter = new VolumeCounter(
    options.volumeSize,
    (tarBytes) => storedSize(tarBytes, options),
  );
  const problemSamples: ProblemRecord[] = [];
  const unchanged = options.base
    ? { base: options.base.backupId, entries: 0, bytes: 0 }
    : undefined;
  const totals = await scanInWorker({
    sourceDirs: options.sourceDirs,
    excludes: options.excludes,
    skipPaths: options.skipPaths,
    signal: options.signal,
  }, {
    addFiles(files: NewFile[]) {
      for (const file of files) {
        if (unchanged && options.base!.unchanged(file)) {
          unchanged.entries++;
          unchanged.bytes += file.size;
        } else {
          counter.add(file.size, file.archivePath);
        }
      }
    },
    addProblem(problem: ProblemRecord) {
      if (problemSamples.length < PROBLEM_SAMPLES) problemSamples.push(problem);
    },
  });
  const volumes = counter.finish();
  return {
    entries: totals.entries,
    fileBytes: totals.bytes,
    problems: totals.problems,
    problemSamples,
    ...volumes,
    ...(unchanged ? { unchanged } : {}),
  };
}

/** Volume totals of a `VolumeCounter`. */
export interface VolumeCount {
  volumes: number;
  volumeBytes: number;
  parts: number;
  largestVolumeBytes: number;
}

/**
 * Counts entries into volumes in scan order with the packing rule of the backup's plan
 * (`VolumePacker`), and totals the bytes and multipart parts each volume would be uploaded as.
 */
export class VolumeCounter {
  readonly #packer: VolumePacker<PackableEntry>;
  #count: VolumeCount = { volumes: 0, volumeBytes: 0, parts: 0, largestVolumeBytes: 0 };

  /** `storedSize` turns a volume's TAR entry bytes into the bytes uploaded. */
  constructor(
    readonly volumeSize: number,
    readonly storedSize: (tarEntryBytes: number) => number = (bytes) => bytes,
  ) {
    this.#packer = new VolumePacker(volumeSize);
  }

  /** Adds the next entry of the scan. */
  add(size: number, archivePath: string): void {
    this.#tally(this.#packer.add({ size, archivePath }));
  }

  /** Closes the last volume and returns the totals. */
  finish(): VolumeCount {
    this.#tally(this.#packer.finish());
    return { ...this.#count };
  }

  #tally(volume: PackedVolume<PackableEntry> | undefined): void {
    if (!volume) return;
    const stored = this.storedSize(volume.bytes);
    this.#count.volumes++;
    this.#count.volumeBytes += stored;
    this.#count.parts += partCount(stored);
    this.#count.largestVolumeBytes = Math.max(this.#count.largestVolumeBytes, stored);
  }
}

/** Bytes uploaded for a volume of `tarEntryBytes`: TAR end marker, and age framing if encrypted. */
function storedSize(tarEntryBytes: number, options: { encrypt: boolean }): number {
  const tar = tarEntryBytes + TAR_END_OF_ARCHIVE.length;
  if (!options.encrypt) return tar;
  const chunks = Math.max(1, Math.ceil(tar / CHUNK_SIZE));
  return AGE_HEADER_ESTIMATE + PAYLOAD_NONCE_SIZE + tar + chunks * TAG_SIZE;
}

/** The dry-run report: what would be uploaded and what it would cost. */
export function forecastLines(
  forecast: BackupForecast,
  backup: { storageClass: string; fileBucket: boolean },
  prices: PriceTable,
): string[] {
  const count = (n: number) => n.toLocaleString("en-US");
  const plural = (n: number, word: string) => `${count(n)} ${word}${n === 1 ? "" : "s"}`;
  const { storageClass } = backup;
  const perMonth = storageCostPerMonth(
    forecast.volumeBytes,
    forecast.volumes,
    storageClass,
    prices,
  );
  const partsPerVolume = forecast.volumes === 0 ? 0 : forecast.parts / forecast.volumes;
  const uploads = uploadRequestCost(forecast.volumes, partsPerVolume, storageClass, prices);
  const requests = forecast.parts + 2 * forecast.volumes;
  const minimumDays = minimumStorageDays(storageClass);
  const skipped = forecast.problems > 0 ? `; ${count(forecast.problems)} would be skipped` : "";
  return [
    "dry run: nothing was written or uploaded",
    `would back up ${count(forecast.entries)} entries (${formatBytes(forecast.fileBytes)} of ` +
    `file data)${skipped}`,
    ...(forecast.unchanged
      ? [
        `incremental on ${forecast.unchanged.base}: ${count(forecast.unchanged.entries)} ` +
        `entries (${formatBytes(forecast.unchanged.bytes)}) unchanged, not uploaded; the rest:`,
      ]
      : []),
    `expected: ${plural(forecast.volumes, "volume")} ` +
    `(largest ${formatBytes(forecast.largestVolumeBytes)}), ${formatBytes(forecast.volumeBytes)} ` +
    `in ${storageClass}; the figures assume no compression gain (an upper bound)`,
    `storage: ${formatDollars(perMonth)} a month, ${formatDollars(perMonth * 12)} a year`,
    `upload requests: ${count(requests)} (${plural(forecast.volumes, "multipart upload")} of ` +
    `${plural(forecast.parts, "part")} in all): ${formatDollars(uploads)}`,
    ...(minimumDays > 0
      ? [`${storageClass} is billed for at least ${minimumDays} days, even if deleted sooner`]
      : []),
    `prices: ${prices.source}` +
    (backup.fileBucket ? "; the bucket is a folder, so AWS charges nothing" : ""),
  ];
}
