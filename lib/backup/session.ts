/**
 * A backup or resume run from start to end: checks the bucket, runs the pipeline, puts the
 * catalog copy in the bucket, and sums the run up. It reports through a `Reporter` and returns an
 * `Outcome`; the command that starts it owns the screen, the interrupts and the exit code.
 */
import { resolve } from "node:path";
import type { Catalog, FileState } from "../catalog/catalog.ts";
import { lockPath } from "../catalog/lock.ts";
import { abortOrphanUploads, runBackup } from "./run_backup.ts";
import { uploadCatalogCopy } from "./catalog_copy.ts";
import { catalogCopyKey } from "../archive/layout.ts";
import type { BackupProgress } from "./progress.ts";
import { type Storage, StorageError } from "../storage/storage.ts";
import { errorLine } from "../archive/errors.ts";
import { type Outcome, type Reporter, reportSummary } from "../archive/report.ts";
import { formatBytes, formatDuration } from "../archive/units.ts";
import { quotePath } from "../archive/quote_path.ts";

/** How many problem files a summary lists before it says "and N more". */
const LISTED_PROBLEMS = 50;

/** Everything a backup session needs. */
export interface BackupSession {
  catalog: Catalog;
  /** The backup's bucket, wrapped in retries that stop when `signal` aborts. */
  storage: Storage;
  log: Reporter;
  /** Counters the pipeline updates (a display may show them). */
  progress: BackupProgress;
  /** Aborts at the user's first interrupt: the run stops cleanly, resumable. */
  signal: AbortSignal;
  /**
   * Resolves at the user's second interrupt: the run ends at once, without waiting for requests
   * in flight. Every step is already in the catalog, so that is as safe as the first stop.
   */
  stopNow?: Promise<void>;
  /** The base of an incremental backup (open, locked), for its scan. */
  base?: Catalog;
}

/** Runs the catalog's backup to the end (or to an interrupt) and returns how it ended. */
export async function runBackupSession(session: BackupSession): Promise<Outcome> {
  const { catalog, log, signal } = session;
  const onInterrupt = () => log.warn("interrupted: stopping (Ctrl-C again to stop at once)");
  signal.addEventListener("abort", onInterrupt, { once: true });
  const work = backUp(session);
  try {
    if (!session.stopNow) return await work;
    const abandoned = session.stopNow.then(() => "abandoned" as const);
    const outcome = await Promise.race([work, abandoned]);
    if (outcome === "abandoned") {
      // The pipeline still waits on requests; the process ends before they settle.
      work.catch(() => {});
      log.error(`stopped; resume with: glacier resume ${resolve(catalog.path)}`);
    }
    return outcome;
  } finally {
    signal.removeEventListener("abort", onInterrupt);
  }
}

/** The run itself: the pipeline, the catalog copy, and the summary. */
async function backUp(session: BackupSession): Promise<Outcome> {
  const { catalog, storage, log, signal } = session;
  const settings = catalog.settings();
  const started = Date.now();
  const resumeHint = `resume with: glacier resume ${resolve(catalog.path)}`;
  try {
    await storage.checkAccess();
    const wasDone = catalog.phase() === "done";
    await runBackup({
      catalog,
      storage,
      log,
      progress: session.progress,
      skipPaths: [
        resolve(catalog.path),
        `${resolve(catalog.path)}-wal`,
        `${resolve(catalog.path)}-shm`,
        lockPath(resolve(catalog.path)),
      ]
        .concat(log.logPath ? [resolve(log.logPath)] : [])
        .concat(settings.workDirIsTemporary ? [resolve(settings.workDir)] : []),
      // An OUTPUT_TAR folder may hold the user's files too: leave out only our volumes.
      ownVolumes: { folder: resolve(settings.workDir), baseName: settings.baseName },
      signal,
      base: session.base,
    });
    // A run killed after the last volume but before the catalog copy finished leaves a done
    // backup without its copy: a resume of a done backup puts it there if it is missing.
    const copyKey = catalogCopyKey(settings, catalog.recipients().length > 0);
    if (!wasDone || !(await storage.headObject(copyKey))) {
      // A run that was not done yet has just aborted them, at the end of runBackup.
      if (wasDone) {
        log.info("the bucket has no copy of the catalog yet: uploading it");
        await abortOrphanUploads(storage, settings, log);
      }
      await uploadCatalogCopy(catalog, storage);
    }
  } catch (error) {
    if (signal.aborted) {
      log.error(`backup stopped before it finished; ${resumeHint}`);
    } else {
      const permanent = error instanceof StorageError &&
        (error.kind === "permanent" || error.kind === "unsupported");
      log.error(errorLine(error));
      log.error(
        permanent ? `fix the problem above, then ${resumeHint}` : `backup failed; ${resumeHint}`,
      );
    }
    return "failed";
  }
  return summarize(catalog, log, (Date.now() - started) / 1000);
}

/**
 * Reports the end-of-run summary (as the run's report, where the reporter has one); done with
 * warnings when files were skipped or changed.
 */
function summarize(catalog: Catalog, log: Reporter, seconds: number): Outcome {
  const report = (level: "info" | "warn", line: string) => reportSummary(log, level, line);
  const troubledStates: FileState[] = ["vanished", "unreadable", "changed"];
  const stored = catalog.storedTotals(troubledStates);
  const volumes = catalog.ownVolumes();
  const volumeBytes = volumes.reduce((n, v) => n + (v.size ?? 0), 0);
  const settings = catalog.settings();
  report(
    "info",
    `backup ${settings.backupId} complete: ${stored.count} entries, ${formatBytes(stored.bytes)} ` +
      `in ${volumes.length} volume${volumes.length === 1 ? "" : "s"} (${
        formatBytes(volumeBytes)
      } ` +
      `stored) in ${formatDuration(seconds)}`,
  );
  const problems = catalog.problems(LISTED_PROBLEMS + 1);
  // The totals tell whether any file went wrong: only then is the whole table read for names.
  const troubled = stored.troubled > 0
    ? catalog.filesInStates(troubledStates, LISTED_PROBLEMS + 1)
    : [];
  const lines = [
    ...problems.map((p) => `skipped ${quotePath(p.path)}: ${p.message}`),
    ...troubled.map((f) =>
      f.state === "changed"
        ? `changed while read (stored as read): ${quotePath(f.path)}`
        : `${f.state === "vanished" ? "vanished before it was read" : "unreadable"}: ${
          quotePath(f.path)
        }`
    ),
  ];
  for (const line of lines.slice(0, LISTED_PROBLEMS)) report("warn", line);
  if (lines.length > LISTED_PROBLEMS) report("warn", "... more in the state database");
  report("info", `state database: ${resolve(catalog.path)}`);
  return lines.length > 0 ? "done-with-warnings" : "done";
}
