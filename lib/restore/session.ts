/**
 * A restore run from start to end, the restore's counterpart of lib/backup/session.ts: gets the
 * catalog (the local state database, or the copy kept in the bucket), checks the keys, opens the
 * bucket and runs the restore. It reports through a `Reporter` and returns an `Outcome`: an
 * interrupt or a bucket that keeps failing ends it as "failed", with how to continue.
 */
import { Catalog } from "../catalog/catalog.ts";
import { recipientFromIdentity } from "../crypto/age.ts";
import { errorLine, UsageError } from "../archive/errors.ts";
import type { Outcome, Reporter } from "../archive/report.ts";
import { StorageError } from "../storage/storage.ts";
import { asBucket, type ConnectionSettings, folderOfFileBucket } from "../storage/open.ts";
import {
  isFolderBucket,
  openBackupStorage,
  openRetryingStorage,
  type StorageOverrides,
} from "../backup/open_storage.ts";
import { fetchCatalogCopy } from "./catalog_copy_fetch.ts";
import { type RestoreRun, runRestore } from "./run_restore.ts";
import { readableByFolderNote } from "../storage/owner_only.ts";

/** The copy of a backup's catalog kept in its bucket, for a restore without a state database. */
export interface CatalogCopySource {
  bucket: string;
  connection: ConnectionSettings;
  backupId: string;
  prefix: string;
  /** Where the fetched state database goes. */
  stateDir: string;
  /** Open it read-only (a dry run). */
  readOnly: boolean;
}

/** Everything a restore session needs. */
export interface RestoreSession {
  /** The backup's catalog, open; or where to fetch it from. */
  catalog: Catalog | CatalogCopySource;
  /** Command-line overrides of the bucket and connection stored in the catalog. */
  overrides: StorageOverrides;
  /** Identities given by the user (the catalog's own key is added when it has one). */
  identities: string[];
  /** What to restore, and how. */
  request: Omit<
    RestoreRun,
    | "catalog"
    | "storage"
    | "folderBucket"
    | "bucketFolder"
    | "identities"
    | "log"
    | "signal"
    | "confirm"
  >;
  log: Reporter;
  /** The user's interrupt. */
  signal: AbortSignal;
  /** Asks the user; `undefined` when there is no terminal to ask on. */
  confirm?: (question: string) => Promise<boolean>;
}

/** Runs a restore to the end (or to an interrupt) and returns how it ended. */
export async function runRestoreSession(session: RestoreSession): Promise<Outcome> {
  const { log, signal } = session;
  let fetched: Catalog | undefined;
  try {
    let catalog: Catalog;
    if (session.catalog instanceof Catalog) {
      catalog = session.catalog;
    } else {
      const source = session.catalog;
      // Checked while the restore plans (run_restore.ts waits for it before acting).
      catalog = fetched = Catalog.open(await fetchStateDb(session, source), {
        readOnly: source.readOnly,
        checkLater: true,
      });
    }
    return await restoreFromCatalog(session, catalog);
  } catch (error) {
    if (signal.aborted) {
      log.error("restore stopped; run the same command again to continue where it stopped");
      return "failed";
    }
    if (error instanceof StorageError) {
      log.error(errorLine(error));
      log.error("restore failed; run the same command again to continue where it stopped");
      return "failed";
    }
    throw error;
  } finally {
    fetched?.close();
  }
}

/** Fetches the catalog copy (once: a later run uses the file fetched before); returns its path. */
async function fetchStateDb(session: RestoreSession, source: CatalogCopySource): Promise<string> {
  const { log, signal } = session;
  const storage = openRetryingStorage(source.bucket, source.connection, log, signal);
  await storage.checkAccess();
  const fetched = await fetchCatalogCopy({
    storage,
    backupId: source.backupId,
    prefix: source.prefix,
    identities: session.identities,
    stateDir: source.stateDir,
    signal,
  });
  log.info(
    fetched.downloaded
      ? `fetched the catalog copy of backup ${source.backupId} into ${fetched.path}`
      : `using ${fetched.path}, fetched from the bucket earlier`,
  );
  if (fetched.notOwnerOnly) log.info(readableByFolderNote(fetched.path, fetched.notOwnerOnly));
  return fetched.path;
}

async function restoreFromCatalog(session: RestoreSession, catalog: Catalog): Promise<Outcome> {
  const { log, signal } = session;
  const settings = catalog.settings();
  if (catalog.phase() !== "done") {
    log.warn(
      `backup ${settings.backupId} did not finish: only files in uploaded volumes can be restored`,
    );
  }
  const identities = volumeIdentities(catalog, session.identities);
  const { storage, bucket } = openBackupStorage(settings, session.overrides, log, signal);
  await storage.checkAccess();
  return await runRestore({
    ...session.request,
    catalog,
    storage,
    folderBucket: isFolderBucket(bucket),
    bucketFolder: isFolderBucket(bucket) ? folderOfFileBucket(asBucket(bucket)) : undefined,
    identities,
    log,
    signal,
    confirm: session.confirm,
  });
}

/**
 * The identities that open the backup's volumes: those given with --identity plus the backup's
 * own. Fails before anything is thawed when none of them matches the backup's recipients.
 */
function volumeIdentities(catalog: Catalog, fromFiles: string[]): string[] {
  if (!catalog.settings().encrypt) return [];
  const own = catalog.identity();
  const identities = own ? [...fromFiles, own] : fromFiles;
  const recipients = catalog.recipients();
  if (identities.length === 0) {
    throw new UsageError(
      `this backup was encrypted to your own keys (${recipients.join(", ")}): give --identity FILE`,
    );
  }
  const wanted = new Set(recipients);
  if (!identities.some((identity) => wanted.has(recipientFromIdentity(identity)))) {
    throw new UsageError(
      `none of the identities given opens this backup (encrypted to ${recipients.join(", ")})`,
    );
  }
  return identities;
}
