/**
 * One writer per state database. A command that writes to a state database holds an exclusive OS
 * lock (flock, LockFileEx) on the sidecar file `STATEDB.lock` for as long as it has the catalog
 * open. The kernel drops the lock when the process ends, however it ends, so a killed run never
 * blocks the next one. The SQLite file itself is not locked: SQLite keeps its own byte-range locks
 * on it, which a whole-file lock would break on Windows.
 *
 * A lock that looks taken is tried again for up to `LOCK_RETRY_MS` before the run is refused. A
 * process that starts a program copies all its open files into the child until the child's exec
 * closes them, and an flock is shared by every copy: a lock this process (any thread of it) has
 * just released can stay held for that moment. Another writer holds it far longer.
 *
 * The lock file says who holds it (pid, host, command), for the message a second run prints. It
 * is emptied on release but never deleted: deleting it would race with a process that has just
 * opened it, and two processes could then each lock a different file of the same name.
 */
import { hostname } from "node:os";
import { CatalogError } from "./errors.ts";

/** The state database is locked by another process; the message names it when it can. */
export class StateDbBusyError extends CatalogError {
  override name = "StateDbBusyError";
}

/**
 * How long a lock that is taken is tried again before the run is refused: long enough for a
 * started child to reach its exec, short enough that a second run still stops at once.
 */
const LOCK_RETRY_MS = 1000;

/** Who holds a lock, as written in the lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/** The lock file of the state database at `stateDb`. */
export function lockPath(stateDb: string): string {
  return `${stateDb}.lock`;
}

/** An exclusive lock on a state database, held until `release` or the end of the process. */
export class StateDbLock {
  #file: Deno.FsFile | undefined;

  private constructor(file: Deno.FsFile, readonly path: string) {
    this.#file = file;
  }

  /**
   * Takes the lock of `stateDb` (trying again for up to `LOCK_RETRY_MS`) or throws
   * `StateDbBusyError` naming the holder. Errors opening the lock file (a folder that is not
   * writable, ...) are thrown as they are.
   */
  static acquire(stateDb: string): StateDbLock {
    const path = lockPath(stateDb);
    const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
    let locked = false;
    try {
      locked = tryLockFor(file, LOCK_RETRY_MS);
    } catch (error) {
      file.close();
      throw error;
    }
    if (!locked) {
      file.close();
      throw new StateDbBusyError(busyMessage(stateDb, readHolder(path)));
    }
    const lock = new StateDbLock(file, path);
    lock.#writeHolder();
    return lock;
  }

  #writeHolder(): void {
    const holder: LockHolder = {
      pid: Deno.pid,
      host: safeHostname(),
      command: ["glacier", ...Deno.args].join(" ").slice(0, 300),
      since: new Date().toISOString(),
    };
    try {
      this.#file!.truncateSync(0);
      this.#file!.writeSync(new TextEncoder().encode(JSON.stringify(holder) + "\n"));
    } catch {
      // The lock is what matters; without the note a second run names no process.
    }
  }

  /** Empties the lock file and releases the lock. Safe to call twice. */
  release(): void {
    const file = this.#file;
    if (!file) return;
    this.#file = undefined;
    try {
      file.truncateSync(0);
    } catch {
      // Nothing to undo: the note is only advice, and the lock goes with the file handle.
    }
    file.close();
  }
}

/**
 * Tries the exclusive lock of `file` until it is taken or `ms` have passed, pausing
 * longer each time.
 */
function tryLockFor(file: Deno.FsFile, ms: number): boolean {
  const deadline = Date.now() + ms;
  for (let pause = 1;; pause = Math.min(pause * 2, 50)) {
    if (file.tryLockSync(true)) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    sleepSync(Math.min(pause, left));
  }
}

/** Blocks this thread for `ms` milliseconds: `acquire` is synchronous, as opening a catalog is. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The holder written in a lock file, or undefined when it cannot be read or makes no sense. */
export function readHolder(path: string): LockHolder | undefined {
  try {
    // On Windows the holder's lock may keep others from reading the file: no holder then.
    const value = JSON.parse(Deno.readTextFileSync(path));
    if (
      typeof value === "object" && value !== null && Number.isSafeInteger(value.pid) &&
      typeof value.host === "string" && typeof value.command === "string" &&
      typeof value.since === "string" && /^[0-9TZ:.+-]{1,40}$/.test(value.since)
    ) {
      return value as LockHolder;
    }
  } catch {
    // Fall through: the holder is unknown.
  }
  return undefined;
}

function busyMessage(stateDb: string, holder: LockHolder | undefined): string {
  const who = holder === undefined ? "another glacier process" : `glacier process ${holder.pid}` +
    (holder.host === safeHostname() ? "" : ` on ${JSON.stringify(holder.host)}`) +
    ` (${JSON.stringify(holder.command.slice(0, 120))}, since ${holder.since})`;
  return `state database ${stateDb} is in use by ${who}: wait for it to end ` +
    "(two runs at once would damage the backup)";
}

function safeHostname(): string {
  try {
    return hostname();
  } catch {
    return "";
  }
}
