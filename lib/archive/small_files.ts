/**
 * Which volumes hold many small files: those whose work is mostly system calls and per-entry
 * bookkeeping, not bytes. A backup packs such a volume on a worker thread (`packsOnWorker`), which
 * costs ~20-25 MiB of RSS that only such a volume pays back. (A restore places the small files of
 * any volume of `MANY_FILES_MIN_ENTRIES` entries on a worker: `placesOnWorker`.)
 */

/** A volume of many small files has at least this many entries... */
export const MANY_FILES_MIN_ENTRIES = 10_000;

/** ...of at most this many planned TAR bytes (content, headers, padding) on average. */
export const SMALL_FILES_MAX_AVERAGE_BYTES = 16 * 1024;

/**
 * Whether a volume (its file id range and planned bytes, as the catalog records them) holds many
 * small files. The entry count is the id range, an upper bound (an incremental's range also spans
 * files its base holds); read from the catalog, it only ever chooses a thread.
 */
export function holdsManySmallFiles(
  volume: { firstFileId: number; lastFileId: number; plannedBytes: number },
): boolean {
  const entries = volume.lastFileId - volume.firstFileId + 1;
  return entries >= MANY_FILES_MIN_ENTRIES &&
    volume.plannedBytes <= entries * SMALL_FILES_MAX_AVERAGE_BYTES;
}
