/**
 * Runs a backup or resume in front of a user: connects to the store, shows progress, turns
 * Ctrl-C into a clean stop, and ends with a summary and the exit code.
 */
import { basename, dirname, resolve } from "node:path";
import type { Catalog } from "../catalog/catalog.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { lockPath } from "../catalog/lock.ts";
import { abortOrphanUploads, runBackup } from "../backup/run_backup.ts";
import { catalogCopyKey, uploadCatalogCopy } from "../backup/catalog_copy.ts";
import { openStorage } from "../storage/open.ts";
import { withRetry } from "../storage/retry.ts";
import { StorageError } from "../storage/storage.ts";
import { ProgressDisplay } from "./progress.ts";
import { BackupProgress, renderProgress } from "../backup/progress.ts";
import { ExitCode } from "./exit.ts";
import { errorLine } from "../archive/errors.ts";
import { formatBytes, formatDuration } from "../archive/units.ts";
import type { Logger } from "./log.ts";
import { quotePath } from "../archive/quote_path.ts";

/** How many problem files a summary lists before it says "and N more". */
const LISTED_PROBLEMS = 50;

/** Runs the catalog's backup to the end and returns the exit code. */
export async function runBackupSession(catalog: Catalog, log: Logger): Promise<number> {
  const settings = catalog.settings();
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) {
      // A request in flight can take minutes to give up; a second Ctrl-C means now. Every
      // step is already in the catalog, so stopping here is as safe as the first stop.
      log.error(`stopped; resume with: glacier resume ${resolve(catalog.path)}`);
      Deno.exit(ExitCode.Failed);
    }
    log.warn("interrupted: stopping (Ctrl-C again to stop at once)");
    interrupt.abort(new DOMException("interrupted", "AbortError"));
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);

  const storage = withRetry(
    openStorage(settings.bucket, {
      endpoint: settings.endpoint,
      region: settings.region,
      profile: settings.profile,
    }),
    {
      signal: interrupt.signal,
      onRetry: ({ operation, attempt, delayMs, error }) =>
        log.warn(
          `${operation} failed (attempt ${attempt}): ${error.message}; retrying in ` +
            formatDuration(delayMs / 1000),
        ),
    },
  );
  const progress = new BackupProgress();
  const display = new ProgressDisplay(() => renderProgress(progress), log);
  const started = Date.now();
  const resumeHint = `resume with: glacier resume ${resolve(catalog.path)}`;
  try {
    await storage.checkAccess();
    const wasDone = catalog.phase() === "done";
    await runBackup({
      catalog,
      storage,
      log,
      progress,
      skipPaths: [
        resolve(catalog.path),
        `${resolve(catalog.path)}-wal`,
        `${resolve(catalog.path)}-shm`,
        lockPath(resolve(catalog.path)),
      ]
        .concat(log.logPath ? [resolve(log.logPath)] : [])
        .concat(settings.workDirIsTemporary ? [resolve(settings.workDir)] : []),
      // An OUTPUT_TAR folder may hold the user's files too: leave out only our volumes.
      skip: ownVolumeFiles(settings),
      signal: interrupt.signal,
    });
    // A run killed after the last volume but before the catalog copy finished leaves a done
    // backup without its copy: a resume of a done backup puts it there if it is missing.
    const copyKey = catalogCopyKey(settings, catalog.recipients().length > 0);
    if (!wasDone || !(await storage.headObject(copyKey))) {
      if (wasDone) log.info("the bucket has no copy of the catalog yet: uploading it");
      await abortOrphanUploads(storage, settings, log);
      await uploadCatalogCopy(catalog, storage);
    }
  } catch (error) {
    display.stop();
    if (interrupt.signal.aborted) {
      log.error(`backup stopped before it finished; ${resumeHint}`);
    } else {
      const permanent = error instanceof StorageError && error.kind === "permanent";
      log.error(errorLine(error));
      log.error(
        permanent ? `fix the problem above, then ${resumeHint}` : `backup failed; ${resumeHint}`,
      );
    }
    return ExitCode.Failed;
  } finally {
    display.stop();
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
  return summarize(catalog, log, (Date.now() - started) / 1000);
}

/** Matches this backup's volume files (and their `.partial` forms) in its work folder. */
function ownVolumeFiles(settings: BackupSettings): (path: string) => boolean {
  const folder = resolve(settings.workDir);
  const escaped = settings.baseName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`^\\d{6}_${escaped}`);
  return (path) => dirname(path) === folder && pattern.test(basename(path));
}

/** Prints the end-of-run summary and returns 0, or 1 when files were skipped or changed. */
function summarize(catalog: Catalog, log: Logger, seconds: number): number {
  const totals = catalog.fileTotals();
  const sum = (pick: (t: (typeof totals)[number]) => boolean) =>
    totals.filter(pick).reduce((a, t) => ({ count: a.count + t.count, bytes: a.bytes + t.bytes }), {
      count: 0,
      bytes: 0,
    });
  const stored = sum((t) => t.state === "stored" || t.state === "changed");
  const volumes = catalog.volumes();
  const volumeBytes = volumes.reduce((n, v) => n + (v.size ?? 0), 0);
  const settings = catalog.settings();
  log.info(
    `backup ${settings.backupId} complete: ${stored.count} entries, ${formatBytes(stored.bytes)} ` +
      `in ${volumes.length} volume${volumes.length === 1 ? "" : "s"} (${
        formatBytes(volumeBytes)
      } ` +
      `stored) in ${formatDuration(seconds)}`,
  );
  const problems = catalog.problems(LISTED_PROBLEMS + 1);
  const troubled = catalog.filesInStates(
    ["vanished", "unreadable", "changed"],
    LISTED_PROBLEMS + 1,
  );
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
  for (const line of lines.slice(0, LISTED_PROBLEMS)) log.warn(line);
  if (lines.length > LISTED_PROBLEMS) log.warn("... more in the state database");
  log.info(`state database: ${resolve(catalog.path)}`);
  return lines.length > 0 ? ExitCode.Warnings : ExitCode.Ok;
}
