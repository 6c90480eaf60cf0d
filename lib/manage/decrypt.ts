/**
 * `glacier decrypt`: decrypts the volumes of a backup that a user downloaded by hand into a
 * folder. Each file is checked against the catalog's SHA-256 first; a damaged file is reported and
 * skipped, a key that opens nothing stops the run. Volumes not in the folder are listed.
 */
import { join } from "node:path";
import type { Catalog, VolumeRecord } from "../catalog/catalog.ts";
import { volumeNameProblem } from "../archive/layout.ts";
import { AgeError } from "../crypto/age.ts";
import { errorLine } from "../archive/errors.ts";
import { formatBytes } from "../archive/units.ts";
import type { Outcome, Reporter } from "../archive/report.ts";
import { plural } from "./show_format.ts";
import {
  checkVolumeFile,
  DamagedVolumeError,
  decryptedName,
  decryptVolumeFile,
} from "./volume_file.ts";

/** How `decryptFolder` runs. */
export interface DecryptRun {
  catalog: Catalog;
  /** The folder holding the downloaded volumes; the decrypted files are written beside them. */
  folder: string;
  identities: string[];
  log: Reporter;
  signal?: AbortSignal;
}

/**
 * Decrypts every volume of the backup found in the folder. Done when all were decrypted, done
 * with warnings when some are not in the folder, refused when the identity opens none (wrong key)
 * or a volume name is not one (it would name a path outside the folder), failed when a file was
 * damaged or could not be written.
 */
export async function decryptFolder(run: DecryptRun): Promise<Outcome> {
  const { log } = run;
  const expected = run.catalog.volumes().filter((v) => v.state !== "planned");
  // Names become paths in the folder: none may reach outside it (Catalog.open checks them too).
  for (const volume of expected) {
    const problem = volumeNameProblem(volume.name);
    if (problem) {
      log.error(`the state database names a volume ${JSON.stringify(volume.name)}: ${problem}`);
      return "refused";
    }
  }
  const missing: VolumeRecord[] = [];
  let decrypted = 0;
  let decryptedBytes = 0;
  let failed = 0;
  for (const volume of expected) {
    const path = join(run.folder, volume.name);
    if (!await isFile(path)) {
      // Deleted volumes and volumes never uploaded could not have been downloaded.
      if (volume.state === "uploaded" || volume.state === "missing") missing.push(volume);
      continue;
    }
    const outPath = join(run.folder, decryptedName(volume.name));
    try {
      await checkVolumeFile(path, volume.size, volume.sha256, run.signal);
      await decryptVolumeFile(path, outPath, run.identities, run.signal);
    } catch (error) {
      if (run.signal?.aborted) {
        log.error(`interrupted while decrypting ${path}; nothing half-written was left`);
        return "failed";
      }
      if (error instanceof AgeError) {
        // The bytes are the ones uploaded, so the identity is what does not fit.
        log.error(`${path}: cannot decrypt: ${errorLine(error)}`);
        return "refused";
      }
      const reason = error instanceof DamagedVolumeError ? error.message : errorLine(error);
      log.error(`${path}: ${reason}; not decrypted`);
      failed++;
      continue;
    }
    decrypted++;
    decryptedBytes += volume.size ?? 0;
    log.info(`decrypted ${volume.name} -> ${outPath}`);
  }
  for (const volume of missing) log.warn(`not in ${run.folder}: ${volume.name}`);
  log.info(
    `decrypted ${plural(decrypted, "volume")} (${formatBytes(decryptedBytes)}) of ` +
      `${plural(decrypted + failed + missing.length, "volume")} expected` +
      (missing.length > 0 ? `; ${missing.length} not in the folder` : "") +
      (failed > 0 ? `; ${failed} damaged or unwritable` : ""),
  );
  if (failed > 0) return "failed";
  return missing.length > 0 ? "done-with-warnings" : "done";
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
