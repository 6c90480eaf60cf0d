/**
 * Checks the catalog against itself, reading only (no bucket, no volume data): SQLite's own
 * integrity check, every file in an existing volume and inside that volume's id range, volume
 * ranges in order and disjoint, every built or uploaded volume with a size and a SHA-256, and the
 * backup finished. Queries page or stream, so a catalog of a million files is checked in bounded
 * memory.
 */
import type { SQLInputValue, StatementSync } from "node:sqlite";
import type { Catalog, VolumeRecord } from "../catalog/catalog.ts";
import { plural, type VerifyReport } from "./report.ts";
import { quotePath } from "../archive/quote_path.ts";

/** How many examples a check lists before it only counts. */
const EXAMPLES = 5;

/** Runs every catalog check, adding problems and notes to `report`. */
export function checkCatalogIntegrity(catalog: Catalog, report: VerifyReport): void {
  const subject = "catalog";
  const integrity = catalog.db.prepare("PRAGMA integrity_check(20)").all() as {
    integrity_check: string;
  }[];
  const damage = integrity.map((row) => row.integrity_check).filter((text) => text !== "ok");
  for (const text of damage) report.problem(subject, `SQLite integrity check: ${text}`);
  if (damage.length > 0) return; // the rest would only repeat the damage

  const volumes = catalog.volumes();
  const files = count(catalog.db.prepare("SELECT COUNT(*) AS n FROM files"));
  checkPhase(catalog, volumes, report);
  checkKeys(catalog, report);
  checkVolumeRecords(volumes, report);
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

/** Volume ranges in order and disjoint; built and uploaded volumes with size and checksum. */
function checkVolumeRecords(volumes: VolumeRecord[], report: VerifyReport): void {
  let previous: VolumeRecord | undefined;
  for (const v of volumes) {
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
  const db = catalog.db;
  reportRows(
    report,
    db.prepare(
      "SELECT f.id, f.path, f.volume_id FROM files f WHERE f.volume_id IS NULL OR NOT EXISTS " +
        "(SELECT 1 FROM volumes v WHERE v.id = f.volume_id) ORDER BY f.id",
    ),
    (n) => `${n} entries belong to no existing volume`,
    (row) => `${quotePath(String(row.path))} (volume id ${row.volume_id ?? "none"})`,
  );
  reportRows(
    report,
    db.prepare(
      "SELECT f.id, f.path, v.name FROM files f JOIN volumes v ON v.id = f.volume_id " +
        "WHERE f.id < v.first_file_id OR f.id > v.last_file_id ORDER BY f.id",
    ),
    (n) => `${n} entries lie outside the file range of their volume`,
    (row) => `${quotePath(String(row.path))} (${quotePath(String(row.name))})`,
  );
  reportRows(
    report,
    db.prepare(
      "SELECT f.id, f.path, v.name FROM files f JOIN volumes v ON v.id = f.volume_id " +
        "WHERE v.state = 'uploaded' AND f.state = 'pending' ORDER BY f.id",
    ),
    (n) => `${n} entries of uploaded volumes were never recorded as packed`,
    (row) => `${quotePath(String(row.path))} (${quotePath(String(row.name))})`,
  );
}

/** Streams a query's rows: one problem line with the count and a few examples, if any. */
function reportRows(
  report: VerifyReport,
  statement: StatementSync,
  summary: (count: number) => string,
  example: (row: Record<string, SQLInputValue>) => string,
): void {
  const examples: string[] = [];
  let n = 0;
  for (const row of statement.iterate() as Iterable<Record<string, SQLInputValue>>) {
    if (examples.length < EXAMPLES) examples.push(example(row));
    n++;
  }
  if (n === 0) return;
  const more = n > examples.length ? ", ..." : "";
  report.problem("catalog", `${summary(n)}: ${examples.join(", ")}${more}`);
}

function count(statement: StatementSync): number {
  return Number((statement.get() as { n: number }).n);
}
