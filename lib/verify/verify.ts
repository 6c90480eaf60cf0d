/**
 * `glacier verify` without the command line: the catalog's own checks, then either the bucket
 * (metadata only) or a folder of downloaded volumes (full content), with findings streamed out as
 * they are found and a summary at the end.
 */
import type { Catalog } from "../catalog/catalog.ts";
import type { Storage } from "../storage/storage.ts";
import { checkCatalogIntegrity } from "./catalog_integrity.ts";
import { checkLocalVolumes } from "./local.ts";
import type { VerifyProgress } from "./progress.ts";
import { checkRemoteVolumes } from "./remote.ts";
import { type Finding, findingLine, VerifyReport } from "./report.ts";

/** What to check besides the catalog. */
export type VerifyTarget =
  | { kind: "bucket"; storage: Storage; identities?: string[] }
  | { kind: "local"; folder: string; identities?: string[]; progress?: VerifyProgress };

/** Where the report's lines go. */
export interface VerifyOutput {
  /** A problem line (`problem: SUBJECT: MESSAGE`), as soon as it is found. */
  problem(line: string): void;
  /** A note or a summary line. */
  info(line: string): void;
}

/** Runs every check and prints the summary; returns the report (problems decide the exit code). */
export async function verifyBackup(
  catalog: Catalog,
  target: VerifyTarget,
  output: VerifyOutput,
  signal?: AbortSignal,
): Promise<VerifyReport> {
  const report = new VerifyReport((finding: Finding) =>
    output.problem(`problem: ${findingLine(finding)}`)
  );
  checkCatalogIntegrity(catalog, report);
  if (target.kind === "bucket") {
    await checkRemoteVolumes(catalog, target.storage, report, {
      identities: target.identities,
      signal,
    });
    report.note(
      "content",
      "not checked (that means downloading, after a thaw for Glacier classes; S3 keeps no " +
        "SHA-256 of a multipart object): download volumes and run glacier verify --local FOLDER",
    );
  } else {
    await checkLocalVolumes(
      catalog,
      { folder: target.folder, identities: target.identities, signal, progress: target.progress },
      report,
    );
  }
  for (const note of report.notes) output.info(`note: ${findingLine(note)}`);
  for (const line of report.checked) output.info(`checked ${line}`);
  if (report.unlisted > 0) output.info(`... and ${report.unlisted} more problems not listed`);
  const backupId = catalog.settings().backupId;
  const problems = report.problemCount;
  output.info(
    problems === 0
      ? `verify ${backupId}: no problems found`
      : `verify ${backupId}: ${problems} problem${problems === 1 ? "" : "s"} found`,
  );
  return report;
}
