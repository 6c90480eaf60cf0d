/**
 * Checks the catalog copy in the bucket when a key to open it is at hand: downloads it (a small
 * STANDARD object), decrypts it (age authenticates every chunk), opens it as a state database, and
 * checks that it is this backup's catalog listing the same volumes, each with the same size and
 * SHA-256. A copy nobody checks may be garbage on the day the laptop is lost.
 */
import { join } from "node:path";
import { Catalog, type VolumeRecord } from "../catalog/catalog.ts";
import { UsageError } from "../archive/errors.ts";
import { DamagedCatalogCopyError, downloadCatalogCopy } from "../restore/catalog_copy_fetch.ts";
import type { Storage } from "../storage/storage.ts";
import { plural, type VerifyReport } from "./report.ts";
import { quotePath } from "../archive/quote_path.ts";

/** How many differing volumes a problem line names before it only counts. */
const EXAMPLES = 5;

/**
 * Checks the copy `copyKey` of `catalog`'s backup; adds findings to `report`. `identities` open
 * an encrypted copy; without them the copy is noted as not checked.
 */
export async function checkCatalogCopy(
  catalog: Catalog,
  storage: Storage,
  copyKey: string,
  identities: string[] | undefined,
  report: VerifyReport,
  signal?: AbortSignal,
): Promise<void> {
  const encrypted = catalog.recipients().length > 0;
  if (encrypted && (identities ?? []).length === 0) {
    report.note(
      copyKey,
      "the catalog copy was not checked: no key to decrypt it (the backup was encrypted to your " +
        "own keys); pass --identity FILE to check it",
    );
    return;
  }
  const backupId = catalog.settings().backupId;
  const folder = await Deno.makeTempDir({ prefix: "glacier-verify-copy-" });
  try {
    const path = join(folder, "catalog.sqlite3");
    try {
      await downloadCatalogCopy(storage, copyKey, path, {
        identities: encrypted ? identities : undefined,
        backupId,
        signal,
      });
    } catch (error) {
      if (error instanceof DamagedCatalogCopyError) report.problem(copyKey, error.message);
      else if (error instanceof UsageError) {
        // The keys open the backup (checked before), so the copy is sealed to someone else.
        report.problem(copyKey, "the catalog copy is not encrypted to this backup's key");
      } else throw error;
      return;
    }
    const copy = Catalog.open(path);
    let differences: string[];
    try {
      differences = volumeDifferences(catalog.volumes(), copy.volumes());
    } finally {
      copy.close();
    }
    if (differences.length > 0) {
      const more = differences.length > EXAMPLES ? ", ..." : "";
      report.problem(
        copyKey,
        `the catalog copy does not list the same volumes as this state database ` +
          `(${differences.length} differ): ${differences.slice(0, EXAMPLES).join(", ")}${more}`,
      );
    }
    report.checked.push(
      `the catalog copy ${copyKey}: ${encrypted ? "decrypted, " : ""}backup ${backupId}, ` +
        `${plural(catalog.volumes().length, "volume")} (name, size, SHA-256)`,
    );
  } finally {
    await Deno.remove(folder, { recursive: true }).catch(() => {});
  }
}

/** How the copy's volumes differ from the state database's, one phrase per volume. */
export function volumeDifferences(own: VolumeRecord[], copy: VolumeRecord[]): string[] {
  const inCopy = new Map(copy.map((v) => [v.name, v]));
  const differences: string[] = [];
  for (const volume of own) {
    const other = inCopy.get(volume.name);
    inCopy.delete(volume.name);
    const name = quotePath(volume.name);
    if (!other) differences.push(`${name} missing from the copy`);
    else if (other.size !== volume.size) {
      differences.push(`${name} of ${other.size} bytes, not ${volume.size}`);
    } else if (other.sha256 !== volume.sha256) {
      differences.push(`${name} with another SHA-256`);
    }
  }
  for (const name of inCopy.keys()) differences.push(`${quotePath(name)} only in the copy`);
  return differences;
}
