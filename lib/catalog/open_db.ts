/**
 * The two ways a state database file is opened. Read-only never writes a byte to the file: no
 * lock, no migration, no PRAGMA that writes (a read-only copy, mount or folder is enough for
 * `show`, `key export`, `estimate`, `verify`, `restore --dry-run`). For writing, the file and its
 * folder must be writable (said at once, with where to copy it) and the one-writer lock
 * (lock.ts) is taken before the database is opened.
 */
import { tmpdir } from "node:os";
import { basename, dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DatabaseSync } from "node:sqlite";
import { CatalogError } from "./errors.ts";
import { StateDbLock } from "./lock.ts";

/** How long a connection waits for another one's lock before it fails. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens `path` read-only. A database in WAL mode needs its `-shm` index file; in a folder that
 * cannot be written, with no `-wal` file beside it (so no writer is at work and nothing is left
 * unmerged), it is opened as immutable instead, which needs no other file.
 */
export function openReadOnly(path: string): DatabaseSync {
  try {
    return probed(new DatabaseSync(path, { readOnly: true }));
  } catch (error) {
    if (!noWalIndex(error) || hasContent(`${path}-wal`)) throw error;
    const url = pathToFileURL(resolve(path));
    url.searchParams.set("immutable", "1");
    return probed(new DatabaseSync(url, { readOnly: true }));
  }
}

/**
 * A private, writable copy of the state database at `path` (with its `-wal` file, if any) in a
 * new temporary folder, for a read-only command that must bring an older schema up to date
 * without touching the user's file. `remove` deletes the copy once its database is closed.
 */
export function openPrivateCopy(path: string): { db: DatabaseSync; remove: () => void } {
  const folder = Deno.makeTempDirSync({ prefix: "glacier-catalog-" });
  const remove = () => {
    try {
      Deno.removeSync(folder, { recursive: true });
    } catch {
      // Already removed: close() may run twice.
    }
  };
  try {
    const copy = `${folder}/${basename(path)}`;
    Deno.copyFileSync(path, copy);
    if (hasContent(`${path}-wal`)) Deno.copyFileSync(`${path}-wal`, `${copy}-wal`);
    const db = new DatabaseSync(copy);
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return { db, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/**
 * Checks that `path` and its folder can be written, takes the state database's lock, and opens
 * it. Throws a `CatalogError` when it cannot be written or another process holds the lock.
 */
export function openWritable(path: string): { db: DatabaseSync; lock: StateDbLock } {
  try {
    Deno.openSync(path, { write: true }).close();
  } catch (error) {
    if (isReadOnlyError(error)) throw notWritable(path, "it");
    throw error;
  }
  const folder = `its folder ${dirname(resolve(path))}`;
  let lock: StateDbLock;
  try {
    lock = StateDbLock.acquire(path);
  } catch (error) {
    if (isReadOnlyError(error)) throw notWritable(path, folder);
    throw error;
  }
  try {
    const db = new DatabaseSync(path);
    try {
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // Writing needs the -wal and -shm (or -journal) files beside it: an empty transaction
      // shows now, and not at the first write, whether they can be made.
      db.exec("BEGIN IMMEDIATE; ROLLBACK");
    } catch (error) {
      db.close();
      const message = String((error as Error)?.message);
      if (/attempt to write a readonly database|unable to open database file/.test(message)) {
        throw notWritable(path, folder);
      }
      throw error;
    }
    return { db, lock };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** The one line that says a state database must be writable, and where to copy it. */
function notWritable(path: string, what: string): CatalogError {
  const files = hasContent(`${path}-wal`) ? `${path} ${path}-wal` : path;
  return new CatalogError(
    `state database ${path} must be writable for this command, but ${what} is read-only: ` +
      `copy it to a writable folder (cp ${files} ${tmpdir()}/) and give ` +
      `${resolve(tmpdir(), basename(path))} instead`,
  );
}

/** Permission denied, or a read-only file system (which even root cannot write). */
function isReadOnlyError(error: unknown): boolean {
  return error instanceof Deno.errors.PermissionDenied ||
    /os error 30\b|read-only file system/i.test(String((error as Error)?.message));
}

/** Reads the schema once, so that a file SQLite cannot open fails here and not later. */
function probed(db: DatabaseSync): DatabaseSync {
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.prepare("SELECT COUNT(*) FROM sqlite_master").get();
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * SQLITE_CANTOPEN or SQLITE_READONLY (as root on a read-only mount, or as a user in a folder
 * without write permission): the `-shm` file of a WAL database could not be made.
 */
function noWalIndex(error: unknown): boolean {
  return /unable to open database file|attempt to write a readonly database/.test(
    String((error as Error)?.message),
  );
}

function hasContent(path: string): boolean {
  try {
    return Deno.statSync(path).size > 0;
  } catch {
    return false;
  }
}
