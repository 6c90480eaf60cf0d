/**
 * Splits the scanned files into volumes. Files keep their scan order and a volume is a run of
 * consecutive file ids, so a plan is a handful of ranges whatever the number of files. A volume is
 * closed when the next entry would take it past the target size; a file never spans two volumes,
 * and a file larger than the target gets a volume of its own (a run of folders and small files
 * before it, under 1/16 of the target, joins it rather than become a tiny volume: every Glacier
 * object is billed at least 40 KB and costs a request to thaw).
 */
import type { Catalog, PlannedVolume } from "../catalog/catalog.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { objectKey, volumeName } from "./layout.ts";

const PAGE = 5000;

/** Bytes an entry takes in the TAR stream: header (with room for a pax header) and padded data. */
export function tarEntryEstimate(size: number, archivePath: string): number {
  // deno-lint-ignore no-control-regex
  const needsPax = archivePath.length > 100 || /[^\x00-\x7f]/.test(archivePath);
  return 512 + (needsPax ? 1024 : 0) + Math.ceil(size / 512) * 512;
}

/** Plans the volumes of a scanned catalog; returns them without saving. */
export function planVolumes(catalog: Catalog, settings: BackupSettings): PlannedVolume[] {
  const volumes: PlannedVolume[] = [];
  let current: { first: number; last: number; bytes: number } | undefined;
  const close = () => {
    if (!current) return;
    const id = volumes.length + 1;
    const name = volumeName(settings, id);
    volumes.push({
      id,
      name,
      objectKey: objectKey(settings, name),
      storageClass: settings.storageClass,
      firstFileId: current.first,
      lastFileId: current.last,
      plannedBytes: current.bytes,
    });
    current = undefined;
  };
  let afterId = 0;
  for (;;) {
    const page = catalog.filesAfter(afterId, PAGE);
    if (page.length === 0) break;
    for (const file of page) {
      const bytes = tarEntryEstimate(file.size, file.archivePath);
      const tooSmallToClose = current !== undefined && current.bytes < settings.volumeSize / 16;
      if (current && current.bytes + bytes > settings.volumeSize && !tooSmallToClose) close();
      if (!current) current = { first: file.id, last: file.id, bytes: 0 };
      current.last = file.id;
      current.bytes += bytes;
    }
    afterId = page[page.length - 1].id;
  }
  close();
  return volumes;
}
