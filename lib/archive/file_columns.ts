/**
 * File entries as columns, for crossing between threads: scanned files from the scan worker to
 * the main thread, pack records from the main thread to the pack worker. Structured cloning
 * costs about a microsecond for each small object (its every key is written and read again, as
 * much as a third of packing a tiny file); columns (numbers in typed arrays, strings joined into
 * one) cost a fraction of that, and leave the garbage collector less to do.
 */
import type { PackRecord } from "./volume_tar.ts";
import type { NewFile } from "./scan.ts";

/** Files as columns; strings joined with NUL, which no path holds. */
export interface FileColumns {
  count: number;
  /** `NUMBERS` values for each file: id, size, mtimeMs, mode, ctimeMs (NaN for none). */
  numbers: Float64Array<ArrayBuffer>;
  /** The type of each file (an index into TYPES), plus 8 when it has a link target. */
  types: Uint8Array<ArrayBuffer>;
  paths: string;
  archivePaths: string;
  /** The link targets of the files that have one, in order. */
  linkTargets: string;
  /** Each file's `fileId` (empty for none). */
  fileIds: string;
}

/** A file as either side has it: a pack record (with its id) or a scanned file (its ctime). */
export type ColumnFile = Omit<PackRecord, "id"> & { id?: number; ctimeMs?: number | null };

const NUMBERS = 5;
const TYPES: PackRecord["type"][] = ["file", "directory", "symlink", "hardlink"];
const TYPE_CODES = new Map(TYPES.map((type, code) => [type, code]));
const HAS_LINK = 8;
const NUL = "\0";

/** The columns of `files` (whose strings hold no NUL: the readers refuse them). */
export function fileColumns(files: readonly ColumnFile[]): FileColumns {
  const count = files.length;
  const numbers = new Float64Array(NUMBERS * count);
  const types = new Uint8Array(count);
  const paths: string[] = new Array(count);
  const archivePaths: string[] = new Array(count);
  const linkTargets: string[] = [];
  const fileIds: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const file = files[i];
    const at = NUMBERS * i;
    numbers[at] = file.id ?? NaN;
    numbers[at + 1] = file.size;
    numbers[at + 2] = file.mtimeMs;
    numbers[at + 3] = file.mode;
    numbers[at + 4] = file.ctimeMs ?? NaN;
    let type = TYPE_CODES.get(file.type)!;
    if (file.linkTarget !== null) {
      type |= HAS_LINK;
      linkTargets.push(file.linkTarget);
    }
    types[i] = type;
    paths[i] = file.path;
    archivePaths[i] = file.archivePath;
    fileIds[i] = file.fileId ?? "";
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

/** The buffers of `columns` that a `postMessage` may transfer instead of copying. */
export function columnBuffers(columns: FileColumns): ArrayBuffer[] {
  return [columns.numbers.buffer, columns.types.buffer];
}

/** The pack records `fileColumns` made the columns of (each with its id). */
export function packRecordsOf(columns: FileColumns): PackRecord[] {
  const { count, numbers, types } = columns;
  const strings = splitStrings(columns);
  let link = 0;
  const records: PackRecord[] = new Array(count);
  for (let i = 0, at = 0; i < count; i++, at += NUMBERS) {
    records[i] = {
      id: numbers[at],
      path: strings.paths[i],
      archivePath: strings.archivePaths[i],
      type: TYPES[types[i] & 3],
      size: numbers[at + 1],
      mtimeMs: numbers[at + 2],
      mode: numbers[at + 3],
      linkTarget: types[i] & HAS_LINK ? strings.linkTargets[link++] : null,
      fileId: strings.fileIds[i] === "" ? null : strings.fileIds[i],
    };
  }
  return records;
}

/** The scanned files `fileColumns` made the columns of (each with its change time). */
export function scannedFilesOf(columns: FileColumns): NewFile[] {
  const { count, numbers, types } = columns;
  const strings = splitStrings(columns);
  let link = 0;
  const files: NewFile[] = new Array(count);
  for (let i = 0, at = 0; i < count; i++, at += NUMBERS) {
    const ctimeMs = numbers[at + 4];
    files[i] = {
      path: strings.paths[i],
      archivePath: strings.archivePaths[i],
      type: TYPES[types[i] & 3],
      size: numbers[at + 1],
      mtimeMs: numbers[at + 2],
      mode: numbers[at + 3],
      linkTarget: types[i] & HAS_LINK ? strings.linkTargets[link++] : null,
      ctimeMs: Number.isNaN(ctimeMs) ? null : ctimeMs,
      fileId: strings.fileIds[i] === "" ? null : strings.fileIds[i],
    };
  }
  return files;
}

/** The string columns, one string for each file (link targets: for each file that has one). */
interface SplitStrings {
  paths: string[];
  archivePaths: string[];
  linkTargets: string[];
  fileIds: string[];
}

/** Splits the string columns, refusing columns whose lengths do not agree. */
function splitStrings(columns: FileColumns): SplitStrings {
  const { count, types } = columns;
  if (count === 0) return { paths: [], archivePaths: [], linkTargets: [], fileIds: [] };
  const strings = {
    paths: columns.paths.split(NUL),
    archivePaths: columns.archivePaths.split(NUL),
    linkTargets: columns.linkTargets.split(NUL),
    fileIds: columns.fileIds.split(NUL),
  };
  const links = types.reduce((n, type) => n + (type & HAS_LINK ? 1 : 0), 0);
  // A NUL inside a string (a damaged or forged catalog) would shift every later file onto
  // another's path: refuse the whole batch instead.
  if (
    strings.paths.length !== count || strings.archivePaths.length !== count ||
    strings.linkTargets.length !== (links || 1) || strings.fileIds.length !== count ||
    columns.numbers.length !== NUMBERS * count || types.length !== count
  ) {
    throw new Error("a file's path, link target or file id holds a NUL character");
  }
  return strings;
}
