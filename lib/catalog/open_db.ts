/**
 * The two ways a state database file is opened. Read-only never writes a byte to the file: no
 * lock, no migration, no PRAGMA that writes (a read-only copy, mount or folder is enough for
 * `show`, `key export`, `estimate`, `verify`, `restore --dry-run`). For writing, the file and its
 * folder must be writable (said at once, with where to copy it) and the one-writer lock
 * (lock.ts) is taken before the database is opened.
 */
import { accessSync, constants } from "node:fs";
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
    if (!cannotOpen(error) || hasContent(`${path}-wal`)) throw error;
    const url = pathToFileURL(resolve(path));
    url.searchParams.set("immutable", "1");
    return probed(new DatabaseSync(url, { readOnly: true }));
  }
}

/**
 * Checks that `path` and its folder can be written, takes the state database's lock, and opens
 * it. Throws a `CatalogError` when it cannot be written or another process holds the lock.
 */
export function openWritable(path: string): { db: DatabaseSync; lock: StateDbLock } {
  checkWritable(path);
  const lock = StateDbLock.acquire(path);
  try {
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return { db, lock };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** Throws a `CatalogError` saying where to copy `path` when it or its folder is read-only. */
export function checkWritable(path: string): void {
  const folder = dirname(resolve(path));
  for (const [target, what] of [[path, "it"], [folder, `its folder ${folder}`]]) {
    try {
      accessSync(target, constants.W_OK);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "EACCES" && code !== "EPERM" && code !== "EROFS") continue;
      const files = hasContent(`${path}-wal`) ? `${path} ${path}-wal` : path;
      throw new CatalogError(
        `state database ${path} must be writable for this command, but ${what} is read-only: ` +
          `copy it to a writable folder (cp ${files} ${tmpdir()}/) and give ` +
          `${resolve(tmpdir(), basename(path))} instead`,
      );
    }
  }
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

/** SQLITE_CANTOPEN: here, the `-shm` file of a WAL database could not be created. */
function cannotOpen(error: unknown): boolean {
  return (error as { errcode?: number }).errcode === 14 ||
    /unable to open database file/.test(String((error as Error)?.message));
}

function hasContent(path: string): boolean {
  try {
    return Deno.statSync(path).size > 0;
  } catch {
    return false;
  }
}
