/**
 * Compact forms of what goes between the main thread and the pack worker. Structured cloning
 * costs about a microsecond for each small object (a file record one way, a content hash the
 * other), as much as a third of packing a tiny file; columns (numbers in typed arrays, strings
 * joined into one) cost a fraction of that.
 */
import type { PackedFileHash, PackRecord } from "./volume_tar.ts";

/** Records as columns; strings joined with NUL, which no path holds. */
export interface RecordColumns {
  count: number;
  /** id, size, mtimeMs, mode for each record, in that order. */
  numbers: Float64Array<ArrayBuffer>;
  /** The type of each record (an index into TYPES), plus 8 when it has a link target. */
  types: Uint8Array<ArrayBuffer>;
  paths: string;
  archivePaths: string;
  /** The link targets of the records that have one, in order. */
  linkTargets: string;
  /** Each record's `fileId` (empty for none). */
  fileIds: string;
}

const TYPES: PackRecord["type"][] = ["file", "directory", "symlink", "hardlink"];
const TYPE_CODES = new Map(TYPES.map((type, code) => [type, code]));
const HAS_LINK = 8;
const NUL = "\0";

/** The columns of `records` (whose strings hold no NUL: `recordsOf` refuses them). */
export function recordColumns(records: PackRecord[]): RecordColumns {
  const count = records.length;
  const numbers = new Float64Array(4 * count);
  const types = new Uint8Array(count);
  const paths: string[] = new Array(count);
  const archivePaths: string[] = new Array(count);
  const linkTargets: string[] = [];
  const fileIds: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const record = records[i];
    numbers[4 * i] = record.id;
    numbers[4 * i + 1] = record.size;
    numbers[4 * i + 2] = record.mtimeMs;
    numbers[4 * i + 3] = record.mode;
    let type = TYPE_CODES.get(record.type)!;
    if (record.linkTarget !== null) {
      type |= HAS_LINK;
      linkTargets.push(record.linkTarget);
    }
    types[i] = type;
    paths[i] = record.path;
    archivePaths[i] = record.archivePath;
    fileIds[i] = record.fileId ?? "";
  }
  return {
    count,
    numbers,
    types,
    paths: paths.join(NUL),
    archivePaths: archivePaths.join(NUL),
    linkTargets: linkTargets.join(NUL),
    fileIds: fileIds.join(NUL),
  };
}

/** The records `recordColumns` made the columns of. */
export function recordsOf(columns: RecordColumns): PackRecord[] {
  const { count, numbers, types } = columns;
  if (count === 0) return [];
  const paths = columns.paths.split(NUL);
  const archivePaths = columns.archivePaths.split(NUL);
  const linkTargets = columns.linkTargets.split(NUL);
  const fileIds = columns.fileIds.split(NUL);
  const links = types.reduce((n, type) => n + (type & HAS_LINK ? 1 : 0), 0);
  // A NUL inside a string (a damaged or forged catalog) would shift every later record onto
  // another's path: refuse the page instead.
  if (
    paths.length !== count || archivePaths.length !== count ||
    linkTargets.length !== (links || 1) || fileIds.length !== count
  ) {
    throw new Error("a catalog entry's path, link target or file id holds a NUL character");
  }
  let link = 0;
  const records: PackRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const type = types[i];
    records[i] = {
      id: numbers[4 * i],
      path: paths[i],
      archivePath: archivePaths[i],
      type: TYPES[type & 3],
      size: numbers[4 * i + 1],
      mtimeMs: numbers[4 * i + 2],
      mode: numbers[4 * i + 3],
      linkTarget: type & HAS_LINK ? linkTargets[link++] : null,
      fileId: fileIds[i] === "" ? null : fileIds[i],
    };
  }
  return records;
}

/** Content hashes as columns: the ids, and the 64-digit hex hashes joined. */
export interface HashColumns {
  ids: Float64Array<ArrayBuffer>;
  hex: string;
}

/** The columns of `hashes` (each a 64-digit hex SHA-256). */
export function hashColumns(hashes: PackedFileHash[]): HashColumns {
  const ids = new Float64Array(hashes.length);
  const hex: string[] = new Array(hashes.length);
  for (let i = 0; i < hashes.length; i++) {
    ids[i] = hashes[i].id;
    hex[i] = hashes[i].sha256;
  }
  return { ids, hex: hex.join("") };
}

/** Appends the hashes `hashColumns` made the columns of to `into`. */
export function appendHashes(columns: HashColumns, into: PackedFileHash[]): void {
  const { ids, hex } = columns;
  for (let i = 0; i < ids.length; i++) {
    into.push({ id: ids[i], sha256: hex.slice(64 * i, 64 * i + 64) });
  }
}
