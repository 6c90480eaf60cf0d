/**
 * The last step of a restore: folder modes and mtimes. They are set only once everything inside
 * is in place (writing a file into a folder changes its mtime, and a read-only folder could not
 * take its files), from the catalog, across all volumes.
 */
import { type Catalog, pagedById } from "../catalog/catalog.ts";
import { restorableFoldersAfter } from "../catalog/restore_state.ts";
import type { RestoreWriter } from "./safe_writer.ts";
import type { Selection } from "./selection.ts";

const PAGE = 1000;

/**
 * How long the folders are set between two turns for the event loop: a turn (a timer of 0 ms)
 * took 2-4 ms (measured), and a terminal's progress line is drawn every 250 ms.
 */
const TURN_MS = 50;

/** Sets the mode and mtime of every wanted folder that is in place; returns how many were set. */
export async function applyFolderAttributes(
  catalog: Catalog,
  selection: Selection,
  writer: RestoreWriter,
): Promise<number> {
  let count = 0;
  let turnAt = performance.now() + TURN_MS;
  for (const folder of pagedById((afterId) => restorableFoldersAfter(catalog, afterId, PAGE))) {
    // The calls are synchronous: timers (the progress line) and signals get a turn now and then.
    if (performance.now() >= turnAt) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      turnAt = performance.now() + TURN_MS;
    }
    // "" is the source root of a backup of `/`: DIR itself, which the restore leaves as it is.
    if (folder.archivePath === "" || !selection.matches(folder.archivePath)) continue;
    if (writer.setFolderAttributes(folder.archivePath, folder.mode, folder.mtimeMs)) count++;
  }
  return count;
}
