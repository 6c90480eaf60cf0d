/**
 * Checks the catalog against itself, reading only (no bucket, no volume data): SQLite's own
 * integrity check, every file in an existing volume and inside that volume's id range, volume
 * ranges in order and disjoint, every built or uploaded volume with a size and a SHA-256, and the
 * backup finished. Queries page or stream, so a catalog of a million files is checked in bounded
 * memory.
 */
import type { Catalog, VolumeRecord } from "../catalog/catalog.ts";
import {
  fileCount,
  filesInNoVolume,
  filesOutsideTheirRange,
  integrityDamage,
  type MisplacedFile,
  unpackedFilesOfUploadedVolumes,
} from "../catalog/integrity.ts";
import { plural, type VerifyReport } from "./report.ts";
import { quotePath } from "../archive/quote_path.ts";

/** How many examples a check lists before it only counts. */
const EXAMPLES = 5;

/** Runs every catalog check, adding problems and notes to `report`. */
export function checkCatalogIntegrity(catalog: Catalog, report: VerifyReport): void {
  const subject = "catalog";
  const damage = integrityDamage(catalog, 20);
  for (const text of damage) report.problem(subject, `SQLite integrity check: ${text}`);
  if (damage.length > 0) return; // the rest would only repeat the damage

  const volumes = catalog.volumes();
  const files = fileCount(catalog);
  checkPhase(catalog, volumes, report);
  checkKeys(catalog, report);
  checkVolumeRecords(volumes, catalog.baseBackupId() !== undefined, report);
  checkFileMembership(catalog, report);
  const active = volumes.filter((v) => v.state !== "deleted").length;
  report.checked.push(
    `catalog: SQLite integrity, ${plural(files, "entry", "entries")} in ${
      plural(active, "volume")
    } ` +
      `(membership, ranges, ` +
      `sizes and SHA-256 recorded)`,
  );
}

/** A finished backup has every volume uploaded (or deliberately deleted). */
function checkPhase(catalog: Catalog, volumes: VolumeRecord[], report: VerifyReport): void {
  const phase = catalog.phase();
  const unfinished = volumes.filter((v) => v.state === "planned" || v.state === "built");
  if (phase !== "done") {
    report.problem(
      "catalog",
      `the backup is not finished (phase ${phase}, ${unfinished.length} of ${volumes.length} ` +
        `volumes not uploaded): run glacier resume`,
    );
    return;
  }
  for (const v of unfinished) {
    report.problem(v.name, `the backup is marked done but this volume is ${v.state}, not uploaded`);
  }
  for (const v of volumes.filter((v) => v.state === "missing")) {
    report.problem(v.name, "recorded as missing from the bucket (found by glacier sync)");
  }
  const deleted = volumes.filter((v) => v.state === "deleted").length;
  if (deleted > 0) {
    report.note("catalog", `${deleted} volumes were deleted on purpose (glacier delete)`);
  }
}

/** An encrypted backup must say whom its volumes are encrypted to. */
function checkKeys(catalog: Catalog, report: VerifyReport): void {
  if (catalog.settings().encrypt && catalog.recipients().length === 0) {
    report.problem("catalog", "the backup is encrypted but records no age recipient");
  }
}

/**
 * Volume ranges in order and disjoint; built and uploaded volumes with size and checksum. The
 * volumes an earlier backup of an incremental's chain holds have no range here, and an
 * incremental with no new file has one empty volume (its deleted-paths list).
 */
function checkVolumeRecords(
  volumes: VolumeRecord[],
  incremental: boolean,
  report: VerifyReport,
): void {
  let previous: VolumeRecord | undefined;
  for (const v of volumes) {
    const chainVolume = (v.backupId ?? null) !== null;
    const listOnly = incremental && v.firstFileId === 0 && v.lastFileId === -1;
    if (chainVolume || listOnly) {
      const unbuilt = v.state !== "built" && v.state !== "uploaded";
      if (!unbuilt && (v.size === null || v.sha256 === null)) {
        report.problem(v.name, `${v.state} but no size or SHA-256 is recorded`);
      }
      continue;
    }
    if (v.firstFileId > v.lastFileId) {
      report.problem(v.name, `empty file range ${v.firstFileId}..${v.lastFileId}`);
    }
    if (previous && v.firstFileId <= previous.lastFileId) {
      report.problem(
        v.name,
        `file range ${v.firstFileId}..${v.lastFileId} overlaps ${previous.name} ` +
          `(${previous.firstFileId}..${previous.lastFileId})`,
      );
    }
    previous = v;
    if (v.state !== "built" && v.state !== "uploaded") continue;
    if (v.size === null || v.size <= 0) {
      report.problem(v.name, `${v.state} but no size is recorded`);
    }
    if (v.sha256 === null || !/^[0-9a-f]{64}$/.test(v.sha256)) {
      report.problem(v.name, `${v.state} but no valid SHA-256 is recorded`);
    }
  }
}

/**
 * Every file in an existing volume and inside its range (with disjoint ranges, no file can then
 * sit in another volume's range), and recorded as packed if its volume is uploaded.
 */
function checkFileMembership(catalog: Catalog, report: VerifyReport): void {
  const phase = catalog.phase();
  if (phase === "scanning") return; // files get their volumes when the plan is saved
  reportRows(
    report,
    filesInNoVolume(catalog),
    (n) => `${n} entries belong to no existing volume`,
    (file) => `${quotePath(file.path)} (volume id ${file.volumeId ?? "none"})`,
  );
  reportRows(
    report,
    filesOutsideTheirRange(catalog),
    (n) => `${n} entries lie outside the file range of their volume`,
    (file) => `${quotePath(file.path)} (${quotePath(String(file.volumeName))})`,
  );
  reportRows(
    report,
    unpackedFilesOfUploadedVolumes(catalog),
    (n) => `${n} entries of uploaded volumes were never recorded as packed`,
    (file) => `${quotePath(file.path)} (${quotePath(String(file.volumeName))})`,
  );
}

/** Streams misplaced files: one problem line with the count and a few examples, if any. */
function reportRows(
  report: VerifyReport,
  files: Iterable<MisplacedFile>,
  summary: (count: number) => string,
  example: (file: MisplacedFile) => string,
): void {
  const examples: string[] = [];
  let n = 0;
  for (const file of files) {
    if (examples.length < EXAMPLES) examples.push(example(file));
    n++;
  }
  if (n === 0) return;
  const more = n > examples.length ? ", ..." : "";
  report.problem("catalog", `${summary(n)}: ${examples.join(", ")}${more}`);
}
