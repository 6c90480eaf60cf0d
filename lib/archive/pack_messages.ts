/**
 * Content hashes as the pack worker sends them to the main thread: in columns, as its records
 * come (file_columns.ts), since structured cloning costs about a microsecond for each small
 * object, as much as a third of packing a tiny file.
 */
import type { PackedFileHash } from "./volume_tar.ts";

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
