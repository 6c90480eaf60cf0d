/**
 * `glacier show`: prints a backup's header and every entry (or the sums by folder), as text or as
 * one JSON array written element by element, so a catalog of any size prints in flat memory.
 */
import type { Catalog } from "../catalog/catalog.ts";
import { collateByFolder, listFiles, longestVolumeName, volumeTotals } from "../catalog/listing.ts";
import type { LineWriter } from "./line_writer.ts";
import {
  folderLine,
  folderTitle,
  headerLines,
  listingJson,
  listingLine,
  listingTitle,
} from "./show_format.ts";

/** What to print. */
export interface ShowOptions {
  /** Sum by folder, keeping this many levels of the archive paths; `undefined` lists every entry. */
  collate?: number;
  /** One JSON array on the output instead of text (no header). */
  json: boolean;
}

/** Writes the listing of `catalog` to `out` (and flushes it). */
export async function showBackup(
  catalog: Catalog,
  options: ShowOptions,
  out: LineWriter,
): Promise<void> {
  if (options.json) {
    if (options.collate === undefined) await writeJsonArray(listFiles(catalog), out, listingJson);
    else await writeJsonArray(collateByFolder(catalog, options.collate), out, (total) => total);
    return;
  }
  for (const line of headerLines(headerFacts(catalog))) await out.line(line);
  await out.line("");
  if (options.collate === undefined) {
    const width = Math.max(longestVolumeName(catalog), "VOLUME".length);
    const withBackup = catalog.chain().length > 1;
    await out.line(listingTitle(width, withBackup));
    for (const file of listFiles(catalog)) {
      await out.line(listingLine(file, width, withBackup));
      if (out.closed) break;
    }
  } else {
    await out.line(folderTitle());
    for (const total of collateByFolder(catalog, options.collate)) {
      await out.line(folderLine(total));
      if (out.closed) break;
    }
  }
  await out.flush();
}

/** Writes `[`, the elements one per line, `]`; only one element is in memory at a time. */
async function writeJsonArray<T>(
  rows: Iterable<T>,
  out: LineWriter,
  toJson: (row: T) => unknown,
): Promise<void> {
  let first = true;
  await out.write("[");
  for (const row of rows) {
    await out.write(`${first ? "\n" : ",\n"}${JSON.stringify(toJson(row))}`);
    first = false;
    if (out.closed) break;
  }
  await out.write(first ? "]\n" : "\n]\n");
  await out.flush();
}

function headerFacts(catalog: Catalog) {
  return {
    settings: catalog.settings(),
    phase: catalog.phase(),
    createdAt: catalog.meta("created_at"),
    finishedAt: catalog.meta("finished_at"),
    ownKey: catalog.identity() !== undefined,
    recipients: catalog.recipients(),
    files: catalog.fileTotals(),
    volumes: volumeTotals(catalog),
    chain: catalog.chain().map((link) => link.backupId),
  };
}
