/**
 * The backup catalog ("state database"): one SQLite file per backup holding the settings, the
 * key, every file and volume, and multipart progress. Every state change is committed before the
 * program acts on it, so a killed run can be resumed from the file alone.
 */
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { NewFile, ProblemRecord } from "../archive/scan.ts";
import type { PackedFileHash, PackedFileUpdate, PackRecord } from "../archive/volume_tar.ts";
import { CREATE_SCHEMA, FILES_WITH_QUICK_CHECKS, MIGRATIONS, SCHEMA_VERSION } from "./schema.ts";
import type { BackupSettings } from "./settings.ts";
import { volumeNamingProblem } from "./volume_names.ts";
import { catalogCopyKey } from "../archive/layout.ts";

import { CatalogError } from "./errors.ts";
import { StateDbLock } from "./lock.ts";
import { existsSync } from "../storage/exists.ts";
import { restrictToOwner } from "../storage/owner_only.ts";
import { openPrivateCopy, openReadOnly, openWritable } from "./open_db.ts";
import { BackgroundCheck } from "./background_check.ts";

export { CatalogError };

/** Rows read at a time when files are walked in order. */
const FILE_PAGE = 2000;

/**
 * A catalog file is copied as it lies (`checkpointedFile`) while at most one page in this many is
 * free: beyond, a compacted copy (`copyTo`) saves the room.
 */
const FREE_PAGES_COPIED = 8;

/**
 * The `files` columns the scan fills, with where each value comes from: the one list to extend
 * when the scan records more of a file.
 */
const SCANNED_COLUMNS: [column: string, value: (file: FileToRecord) => SQLInputValue][] = [
  ["path", (f) => f.path],
  ["archive_path", (f) => f.archivePath],
  ["type", (f) => f.type],
  ["size", (f) => f.size],
  ["mtime_ms", (f) => f.mtimeMs],
  ["mode", (f) => f.mode],
  ["link_target", (f) => f.linkTarget],
  ["ctime_ms", (f) => f.ctimeMs ?? null],
  ["file_id", (f) => f.fileId ?? null],
  // A file unchanged since the base is held by the base's volume, with its state (and hash).
  ["volume_id", (f) => f.held?.volumeId ?? f.volumeId ?? null],
  // Stored unless its volume's build finds otherwise (`FileState`).
  ["state", (f) => f.held?.state ?? "stored"],
];

/** Rows one INSERT statement of `insertRows` takes (SQLite allows 32766 parameters). */
const INSERT_ROWS = 64;

/** The scanned files' INSERT, up to its VALUES (the id, then `SCANNED_COLUMNS`). */
const INSERT_FILES = `INSERT INTO files (id, ${
  SCANNED_COLUMNS.map(([column]) => column).join(", ")
}) VALUES`;

/** The content hashes' INSERT, up to its VALUES: a rebuild's hash replaces the first one's. */
const INSERT_CONTENT_HASHES = "INSERT OR REPLACE INTO content_hashes (file_id, sha256) VALUES";

/** Rows read at a time when a volume's entries are packed or planned. */
const PACK_PAGE = 256;

/** What planning needs of an entry. */
export type PlanEntry = Pick<PackRecord, "id" | "size" | "archivePath">;

/** Where a backup run stands. */
export type BackupPhase = "scanning" | "planned" | "done";

/**
 * A file, folder or symlink as recorded by the scan (what a volume packs), with its volume and
 * state. A `hardlink` is a later name of a file stored earlier in the same volume, whose archive
 * path is its `linkTarget` (size 0).
 */
export interface FileRecord extends PackRecord {
  volumeId: number | null;
  state: FileState;
  /** Change time as scanned (null in catalogs older than incremental backups). */
  ctimeMs: number | null;
  /** `dev:ino` as scanned (null where the platform gives none, and in older catalogs). */
  fileId: string | null;
}

/**
 * A scanned file to record. An incremental backup records a file unchanged since its base as
 * `held` by the base's volume, with the base's state and content hash: it is never packed again.
 */
export type FileToRecord = NewFile & {
  held?: { volumeId: number; state: FileState; contentSha256: string | null };
  /** The row's id, when the caller numbers the rows (it must then number every one). */
  id?: number;
  /** The planned volume of a file not held by the base, when known at the scan. */
  volumeId?: number;
};

/**
 * What a file's volume holds of it. A file is recorded `stored`, the outcome of a build that
 * packs it as scanned; the build records any other outcome (changed, vanished, unreadable) with
 * the volume's `built`, in one transaction. Whether the bytes exist yet is the volume's state
 * (`planned`: not yet; `fileStateSql` reads such a file as `pending`). Catalogs before schema 6
 * recorded `pending` (not packed yet) until the build; it is read, never written now.
 */
export type FileState =
  | "pending"
  | "stored"
  | "changed"
  | "vanished"
  | "unreadable"
  | "missing"
  | "deleted";

/**
 * A `files` row's state as a user reads it, as an SQL expression over the row `files` (the table
 * or its alias in the query): `pending` for a file whose volume is not built yet (or that has no
 * volume yet, in the middle of a scan), else the state recorded.
 */
export function fileStateSql(files = "files"): string {
  return `CASE WHEN ${files}.state = 'stored' AND (${files}.volume_id IS NULL OR ` +
    `${files}.volume_id IN (SELECT id FROM volumes WHERE state = 'planned')) ` +
    `THEN 'pending' ELSE ${files}.state END`;
}

/** What the scan records (defined with the scan, lib/archive/scan.ts). */
export type { NewFile, ProblemRecord };

/** Upload state of a volume. */
export type VolumeState = "planned" | "built" | "uploaded" | "missing" | "deleted";

/** One volume of the backup. */
export interface VolumeRecord {
  id: number;
  name: string;
  objectKey: string;
  storageClass: string;
  firstFileId: number;
  lastFileId: number;
  plannedBytes: number;
  state: VolumeState;
  size: number | null;
  sha256: string | null;
  uploadId: string | null;
  partSize: number | null;
  /**
   * The earlier backup of the chain that holds this volume (its bytes are under that backup's
   * folder), or null for a volume of this backup.
   */
  backupId?: string | null;
}

/** A planned volume before it is stored. */
export type PlannedVolume = Pick<
  VolumeRecord,
  "id" | "name" | "objectKey" | "storageClass" | "firstFileId" | "lastFileId" | "plannedBytes"
>;

/** One finished multipart part. */
export interface PartRecord {
  partNumber: number;
  etag: string;
  size: number;
}

/** A result row as node:sqlite returns it. */
export type Row = Record<string, SQLInputValue>;

/** How `Catalog.open` opens a state database. */
export interface OpenOptions {
  /**
   * Only read it: nothing is written to the file (no lock, no migration, no PRAGMA that writes),
   * so a read-only file, folder or mount will do. Without it the file and its folder must be
   * writable, and the catalog holds the state database's one-writer lock (lock.ts) until closed.
   */
  readOnly?: boolean;
  /**
   * Check the file for damage on a worker while the caller goes on reading it, instead of before
   * `open` returns: the caller must await `checked()` before it acts on what it read (thaws,
   * downloads, writes). For writing only (read-only opens are checked at once).
   */
  checkLater?: boolean;
}

/** An open catalog. Close it when done. */
export class Catalog {
  readonly #db: DatabaseSync;
  readonly #lock: StateDbLock | undefined;
  /** Deletes a private copy of the database (see `open`), once it is closed. */
  readonly #removeCopy: (() => void) | undefined;
  readonly #statements = new Map<string, StatementSync>();
  /** Why a new state database could not be limited to its owner (Windows), if it could not. */
  #notOwnerOnly: string | undefined;
  /** The damage check still running (`OpenOptions.checkLater`), and its outcome. */
  #background: BackgroundCheck | undefined;
  #checked: Promise<void> = Promise.resolve();

  private constructor(
    db: DatabaseSync,
    readonly path: string,
    lock?: StateDbLock,
    removeCopy?: () => void,
  ) {
    this.#db = db;
    this.#lock = lock;
    this.#removeCopy = removeCopy;
  }

  /**
   * Creates a new catalog file (mode 0600; on Windows an ACL for the current user, else see
   * `notOwnerOnly`) for a backup; fails if the file exists. The file is
   * built under a temporary name and renamed into place complete, so a kill during creation
   * never leaves a state database without its schema and settings.
   */
  static create(
    path: string,
    settings: BackupSettings,
    keys: CatalogKeys,
    base?: BaseLink,
  ): Catalog {
    // The lock comes first, so that the database is never seen by another writer unlocked.
    let lock: StateDbLock;
    try {
      lock = StateDbLock.acquire(path);
    } catch (error) {
      if (error instanceof CatalogError) throw error;
      throw new CatalogError(`cannot create state database ${path}: ${describe(error)}`);
    }
    try {
      return Catalog.#createLocked(path, settings, keys, lock, base);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  static #createLocked(
    path: string,
    settings: BackupSettings,
    keys: CatalogKeys,
    lock: StateDbLock,
    base: BaseLink | undefined,
  ): Catalog {
    const temp = `${path}.creating`;
    try {
      if (existsSync(path)) throw new Deno.errors.AlreadyExists("file exists");
      for (const stale of [temp, `${temp}-wal`, `${temp}-shm`]) {
        if (existsSync(stale)) Deno.removeSync(stale);
      }
      Deno.writeFileSync(temp, new Uint8Array(0), { createNew: true, mode: 0o600 });
    } catch (error) {
      throw new CatalogError(`cannot create state database ${path}: ${describe(error)}`);
    }
    // Before the key is written into it; the rename keeps the file's access list.
    const notOwnerOnly = restrictToOwner(temp);
    const draft = new Catalog(new DatabaseSync(temp), temp);
    try {
      draft.#configure();
      draft.transaction(() => {
        draft.#db.exec(CREATE_SCHEMA);
        for (const step of MIGRATIONS) draft.#db.exec(step);
        draft.#db.exec(FILES_WITH_QUICK_CHECKS);
        draft.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
        draft.#setMeta("settings", JSON.stringify(settings));
        draft.#setMeta("phase", "scanning");
        draft.#setMeta("created_at", new Date().toISOString());
        if (keys.identity) {
          draft.#run("INSERT INTO keys (kind, value) VALUES ('identity', ?)", keys.identity);
        }
        for (const recipient of keys.recipients) {
          draft.#run("INSERT INTO keys (kind, value) VALUES ('recipient', ?)", recipient);
        }
        const chain = [...(base?.chain ?? []), {
          backupId: settings.backupId,
          catalogKey: catalogCopyKey(settings, keys.recipients.length > 0),
        }];
        chain.forEach((link, position) =>
          draft.#run(
            "INSERT INTO chain (position, backup_id, catalog_key) VALUES (?, ?, ?)",
            position,
            link.backupId,
            link.catalogKey,
          )
        );
        if (base) {
          draft.#setMeta("base_backup_id", base.chain[base.chain.length - 1].backupId);
          draft.#setMeta("base_fingerprint", base.fingerprint);
        }
      });
    } finally {
      draft.close();
    }
    Deno.renameSync(temp, path);
    const catalog = new Catalog(new DatabaseSync(path), path, lock);
    catalog.#notOwnerOnly = notOwnerOnly;
    catalog.#configure();
    return catalog;
  }

  /**
   * Opens an existing catalog, refusing files that are missing, corrupt or of a newer schema.
   * For writing (the default) it takes the state database's lock, failing at once when another
   * process holds it; `readOnly` leaves the file as it is (see `OpenOptions`).
   */
  static open(path: string, options: OpenOptions = {}): Catalog {
    const readOnly = options.readOnly === true;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch (error) {
      throw new CatalogError(`cannot open state database ${path}: ${describe(error)}`);
    }
    if (!info.isFile) throw new CatalogError(`state database ${path} is not a file`);
    let catalog: Catalog;
    try {
      if (readOnly) {
        catalog = new Catalog(openReadOnly(path), path);
      } else {
        const { db, lock } = openWritable(path);
        catalog = new Catalog(db, path, lock);
      }
    } catch (error) {
      if (error instanceof CatalogError) throw error;
      throw new CatalogError(`cannot open state database ${path}: ${describe(error)}`);
    }
    try {
      let row = catalog.#db.prepare("PRAGMA user_version").get() as { user_version: number };
      if (row.user_version > SCHEMA_VERSION) {
        throw new CatalogError(
          `state database ${path} has schema version ${row.user_version}, newer than this ` +
            `program understands (${SCHEMA_VERSION}): use a newer glacier`,
        );
      }
      if (row.user_version < 1 || catalog.#getMeta("settings") === undefined) {
        throw new CatalogError(`${path} is not a glacier state database`);
      }
      if (readOnly && row.user_version < SCHEMA_VERSION) {
        // An older schema is brought up to date in a private copy: the user's file stays as
        // it is, and the commands read the schema they know.
        catalog.close();
        const { db, remove } = openPrivateCopy(path);
        catalog = new Catalog(db, path, undefined, remove);
        row = db.prepare("PRAGMA user_version").get() as { user_version: number };
      }
      const db = catalog.#db;
      // Only now, sure that the file is ours, may a writer switch it to WAL mode.
      if (!readOnly || catalog.#removeCopy) catalog.#configure();
      if (row.user_version < SCHEMA_VERSION) {
        catalog.transaction(() => {
          for (const step of MIGRATIONS.slice(row.user_version - 1)) db.exec(step);
          db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
        });
      }
      if (options.checkLater && !readOnly) catalog.#checkInBackground();
      else {
        const check = db.prepare("PRAGMA quick_check").get() as { quick_check: string };
        if (check.quick_check !== "ok") throw damaged(path, check.quick_check);
      }
      const naming = volumeNamingProblem(catalog.settings(), catalog.volumes(), catalog.chain());
      if (naming) throw new CatalogError(`state database ${path} ${naming} (damaged or forged)`);
    } catch (error) {
      catalog.close();
      if (error instanceof CatalogError) throw error;
      throw new CatalogError(`state database ${path} is unreadable: ${describe(error)}`);
    }
    return catalog;
  }

  #configure(): void {
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec("PRAGMA synchronous = FULL");
    this.#db.exec("PRAGMA foreign_keys = ON");
    this.#db.exec("PRAGMA busy_timeout = 5000");
  }

  /**
   * The underlying database, for the query modules of lib/catalog/ (listing, restore state, ...)
   * that keep their SQL beside the feature that needs it. Write only inside `transaction`.
   */
  get db(): DatabaseSync {
    return this.#db;
  }

  /**
   * The rows of a query one at a time, as SQLite produces them: for the query modules beside this
   * one whose results may be too large to hold (a catalog may hold millions of files).
   */
  *streamRows(sql: string, ...params: SQLInputValue[]): Generator<Row> {
    for (const row of this.#db.prepare(sql).iterate(...params)) yield row as Row;
  }

  /** Writes a consistent copy of the database into the empty (or absent) file at `path`. */
  copyTo(path: string): void {
    this.#db.prepare("VACUUM INTO ?").run(path);
  }

  /**
   * The database file itself, when it is a consistent copy as it lies: every change checkpointed
   * into it (all of its `-wal` file copied in), and few free pages (so that a copy of it takes
   * hardly more room than a compacted one, `copyTo`). Undefined otherwise, or when a reader kept
   * the checkpoint from finishing. It stays consistent only while nothing writes to the catalog.
   */
  checkpointedFile(): string | undefined {
    // A catalog opened read-only (or as a private copy) is not checkpointed here.
    if (this.#lock === undefined) return undefined;
    // PASSIVE: copies what no reader still needs from the -wal file, without waiting for one.
    const done = this.#db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as {
      busy: number;
      log: number;
      checkpointed: number;
    };
    if (done.busy !== 0 || done.log !== done.checkpointed) return undefined;
    const pages = this.#db.prepare("PRAGMA page_count").get() as { page_count: number };
    const free = this.#db.prepare("PRAGMA freelist_count").get() as { freelist_count: number };
    return free.freelist_count * FREE_PAGES_COPIED <= pages.page_count ? this.path : undefined;
  }

  /**
   * Settles once the file is known to be undamaged: at once, unless it was opened with
   * `checkLater`; rejects with a `CatalogError` when it is damaged or could not be checked.
   */
  checked(): Promise<void> {
    return this.#checked;
  }

  #checkInBackground(): void {
    const check = this.#background = new BackgroundCheck(this.path);
    this.#checked = check.result.then(
      (result) => {
        if (result !== "ok") throw damaged(this.path, result);
      },
      (error) => {
        throw new CatalogError(`state database ${this.path} is unreadable: ${describe(error)}`);
      },
    );
    // Awaited by the caller; a run that ends before then must not fail on it unheard.
    this.#checked.catch(() => {});
  }

  /** Closes the database and releases its lock; the catalog must not be used afterwards. */
  close(): void {
    this.#background?.stop();
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
    this.#lock?.release();
    this.#removeCopy?.();
  }

  /** Runs `fn` in one transaction (or inside the one already open): all of its writes land, or none. */
  transaction<T>(fn: () => T): T {
    if (this.#db.isTransaction) return fn();
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * A `transaction` whose commit does not wait for the disk (~3 ms a commit here): a crash of the
   * machine may lose it, never corrupt the catalog, and the next ordinary transaction's commit
   * makes it durable with itself. Only for writes worth nothing until such a commit: a scan
   * batch before the plan is saved, content hashes before their volume is marked built.
   */
  deferredTransaction<T>(fn: () => T): T {
    if (this.#db.isTransaction) return fn();
    return this.#withPragma("synchronous", "NORMAL", "FULL", () => this.transaction(fn));
  }

  /** Runs `fn` with the pragma `name` set to `during`, then sets it to `after`, even if it throws. */
  #withPragma<T>(name: string, during: string, after: string, fn: () => T): T {
    this.#db.exec(`PRAGMA ${name} = ${during}`);
    try {
      return fn();
    } finally {
      this.#db.exec(`PRAGMA ${name} = ${after}`);
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #run(sql: string, ...params: SQLInputValue[]): void {
    this.#statement(sql).run(...params);
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#statement(sql).all(...params) as Row[];
  }

  #get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#statement(sql).get(...params) as Row | undefined;
  }

  #getMeta(key: string): string | undefined {
    return this.#get("SELECT value FROM meta WHERE key = ?", key)?.value as string | undefined;
  }

  #setMeta(key: string, value: string): void {
    this.#run(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  /** The settings the backup was started with. */
  settings(): BackupSettings {
    return JSON.parse(this.#getMeta("settings")!) as BackupSettings;
  }

  /** Replaces the stored settings (resume may change connection options). */
  updateSettings(settings: BackupSettings): void {
    this.#setMeta("settings", JSON.stringify(settings));
  }

  /** Where the backup run stands. */
  phase(): BackupPhase {
    return this.#getMeta("phase") as BackupPhase;
  }

  /** Records a new phase. */
  setPhase(phase: BackupPhase): void {
    this.#setMeta("phase", phase);
    if (phase === "done") this.#setMeta("finished_at", new Date().toISOString());
  }

  /** A free-form meta value (time stamps and the like). */
  meta(key: string): string | undefined {
    return this.#getMeta(key);
  }

  /** The backup's own age identity, when it has one. */
  identity(): string | undefined {
    return this.#get("SELECT value FROM keys WHERE kind = 'identity' LIMIT 1")?.value as
      | string
      | undefined;
  }

  /** The age recipients volumes are encrypted to. */
  recipients(): string[] {
    return this.#all("SELECT value FROM keys WHERE kind = 'recipient' ORDER BY id").map((r) =>
      r.value as string
    );
  }

  /** Forgets everything a scan wrote, so that it can run again from the start. */
  clearScan(): void {
    this.transaction(() => {
      this.#run("DELETE FROM parts");
      this.#run("DELETE FROM content_hashes");
      this.#run("DELETE FROM files");
      this.#run("DELETE FROM volumes");
      this.#run("DELETE FROM problems");
      this.#run("DELETE FROM deleted_paths");
    });
  }

  /** Records the archive paths deleted since the base (an incremental's list), in order. */
  recordDeletedPaths(archivePaths: Iterable<string>): number {
    let count = 0;
    this.transaction(() => {
      for (const path of archivePaths) {
        this.#run("INSERT INTO deleted_paths (archive_path) VALUES (?)", path);
        count++;
      }
    });
    return count;
  }

  /** The archive paths deleted since the base, in order (none for a full backup). */
  *deletedPaths(): Generator<string> {
    for (const row of this.streamRows("SELECT archive_path FROM deleted_paths ORDER BY id")) {
      yield row.archive_path as string;
    }
  }

  /**
   * Appends scanned files in one transaction, in order, together with the `volumes` they are
   * planned into (recorded or brought up to date first, so that every file's volume exists).
   * Deferred (see `deferredTransaction`): a scan is worth nothing until `savePlan` commits.
   */
  insertFiles(files: FileToRecord[], volumes: PlannedVolume[] = []): void {
    const width = 1 + SCANNED_COLUMNS.length;
    this.deferredTransaction(() => {
      for (const volume of volumes) this.#recordVolume(volume);
      // Files the caller did not number follow every row so far, in order.
      const firstId = this.nextFileId();
      const idOf = (index: number) => files[index].id ?? firstId + index;
      this.#insertRows(INSERT_FILES, width, files.length, (values, at, index) => {
        values[at] = idOf(index);
        for (let c = 1; c < width; c++) values[at + c] = SCANNED_COLUMNS[c - 1][1](files[index]);
      });
      // The hashes of files held by the base, for the next incremental's `--rehash`.
      this.insertContentHashes(files.flatMap((file, index) => {
        const sha256 = file.held?.contentSha256;
        return sha256 ? [{ id: idOf(index), sha256 }] : [];
      }));
    });
  }

  /**
   * Records the SHA-256 of the bytes packed for each file (a rebuild's replaces the first one's);
   * inside a transaction.
   */
  insertContentHashes(hashes: PackedFileHash[]): void {
    this.#insertRows(INSERT_CONTENT_HASHES, 2, hashes.length, (values, at, index) => {
      values[at] = hashes[index].id;
      values[at + 1] = hashes[index].sha256;
    });
  }

  /**
   * Runs `head` (an `INSERT ... VALUES` without its rows) for `count` rows of `width` values,
   * `INSERT_ROWS` rows to a statement (one call into SQLite for many rows costs less than one
   * each), the rest one by one. `fill` writes row `index`'s values into `values` from `at`.
   */
  #insertRows(
    head: string,
    width: number,
    count: number,
    fill: (values: SQLInputValue[], at: number, index: number) => void,
  ): void {
    const row = `(${Array(width).fill("?").join(", ")})`;
    let next = 0;
    if (count >= INSERT_ROWS) {
      const many = this.#statement(`${head} ${Array(INSERT_ROWS).fill(row).join(", ")}`);
      const values = new Array<SQLInputValue>(INSERT_ROWS * width);
      for (; next + INSERT_ROWS <= count; next += INSERT_ROWS) {
        for (let r = 0; r < INSERT_ROWS; r++) fill(values, r * width, next + r);
        many.run(...values);
      }
    }
    if (next === count) return;
    const one = this.#statement(`${head} ${row}`);
    const values = new Array<SQLInputValue>(width);
    for (; next < count; next++) {
      fill(values, 0, next);
      one.run(...values);
    }
  }

  /** The id the next scanned file takes when the scan numbers them: after every row so far. */
  nextFileId(): number {
    return (this.#get("SELECT COALESCE(MAX(id), 0) + 1 AS id FROM files")!.id as number);
  }

  /** Records a planned volume, or brings its file range and size up to date. */
  #recordVolume(v: PlannedVolume): void {
    this.#run(
      "INSERT INTO volumes (id, name, object_key, storage_class, first_file_id, last_file_id, " +
        "planned_bytes) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET " +
        "first_file_id = excluded.first_file_id, last_file_id = excluded.last_file_id, " +
        "planned_bytes = excluded.planned_bytes",
      v.id,
      v.name,
      v.objectKey,
      v.storageClass,
      v.firstFileId,
      v.lastFileId,
      v.plannedBytes,
    );
  }

  /** The backups of this one's chain, oldest (the full backup) first, this one last. */
  chain(): ChainLink[] {
    return this.#all("SELECT backup_id, catalog_key FROM chain ORDER BY position").map((r) => ({
      backupId: r.backup_id as string,
      catalogKey: r.catalog_key as string,
    }));
  }

  /** The backup this one was made on top of (undefined for a full backup). */
  baseBackupId(): string | undefined {
    return this.#getMeta("base_backup_id");
  }

  /**
   * Records a volume of an earlier backup of the chain, copied from the base's catalog with the
   * id (number) it has there: files of this backup may then point at it.
   */
  addChainVolume(volume: VolumeRecord, backupId: string): void {
    this.#run(
      "INSERT INTO volumes (id, name, object_key, storage_class, first_file_id, last_file_id, " +
        "planned_bytes, state, size, sha256, backup_id) VALUES (?, ?, ?, ?, 0, -1, ?, " +
        "'uploaded', ?, ?, ?)",
      volume.id,
      volume.name,
      volume.objectKey,
      volume.storageClass,
      volume.plannedBytes,
      volume.size,
      volume.sha256,
      backupId,
    );
  }

  /** Drops the copied chain volumes that no file of this backup points at. */
  dropUnusedChainVolumes(): void {
    this.#run(
      "DELETE FROM volumes WHERE backup_id IS NOT NULL AND NOT EXISTS " +
        "(SELECT 1 FROM files f WHERE f.volume_id = volumes.id)",
    );
  }

  /** This backup's own volumes (built and uploaded by it), in order. */
  ownVolumes(): VolumeRecord[] {
    return this.#all("SELECT * FROM volumes WHERE backup_id IS NULL ORDER BY id").map(
      volumeFromRow,
    );
  }

  /** Records a file or folder that was skipped, with why. */
  recordProblem(problem: ProblemRecord): void {
    this.#run(
      "INSERT INTO problems (path, kind, message) VALUES (?, ?, ?)",
      problem.path,
      problem.kind,
      problem.message,
    );
  }

  /** Skipped files and other problems, oldest first. */
  problems(limit = 1_000_000): ProblemRecord[] {
    return this.#all("SELECT path, kind, message FROM problems ORDER BY id LIMIT ?", limit).map((
      r,
    ) => ({ path: r.path as string, kind: r.kind as string, message: r.message as string }));
  }

  /** Up to `limit` files with ids greater than `afterId`, in id order (for paging). */
  filesAfter(afterId: number, limit: number): FileRecord[] {
    return this.#all("SELECT * FROM files WHERE id > ? ORDER BY id LIMIT ?", afterId, limit).map(
      fileFromRow,
    );
  }

  /** Up to `limit` files of a volume with ids greater than `afterId`, in id order. */
  filesOfVolume(volumeId: number, afterId: number, limit: number): FileRecord[] {
    return this.#all(
      "SELECT * FROM files WHERE volume_id = ? AND id > ? ORDER BY id LIMIT ?",
      volumeId,
      afterId,
      limit,
    ).map(fileFromRow);
  }

  /** Every file in id order, read a page at a time. */
  eachFile(pageSize = FILE_PAGE): Generator<FileRecord> {
    return pagedById((afterId) => this.filesAfter(afterId, pageSize));
  }

  /** Every file of a volume in id order, read a page at a time. */
  eachFileOfVolume(volumeId: number, pageSize = FILE_PAGE): Generator<FileRecord> {
    return pagedById((afterId) => this.filesOfVolume(volumeId, afterId, pageSize));
  }

  /**
   * What packing volume `volumeId` needs of its entries, in id order, read `PACK_PAGE` rows at a
   * time through one prepared statement: small pages die young, so the collector frees them
   * cheaply and the heap stays flat whatever the number of files.
   */
  *packRecordsOfVolume(volumeId: number): Generator<PackRecord> {
    const rows = this.streamArrays(
      "SELECT id, path, archive_path, type, size, mtime_ms, mode, link_target, file_id " +
        "FROM files WHERE volume_id = ? AND id > ? ORDER BY id LIMIT ?",
      [volumeId],
    );
    for (const r of rows) {
      yield {
        id: r[0] as number,
        path: r[1] as string,
        archivePath: r[2] as string,
        type: r[3] as PackRecord["type"],
        size: r[4] as number,
        mtimeMs: r[5] as number,
        mode: r[6] as number,
        linkTarget: r[7] as string | null,
        fileId: r[8] as string | null,
      };
    }
  }

  /**
   * The id, size and archive path of every entry still to be given a volume (none held by an
   * earlier backup of the chain), in id order, for planning volumes (paged).
   */
  *planEntries(): Generator<PlanEntry> {
    const rows = this.streamArrays(
      "SELECT id, size, archive_path FROM files WHERE id > ? AND volume_id IS NULL ORDER BY id LIMIT ?",
      [],
    );
    for (const r of rows) {
      yield { id: r[0] as number, size: r[1] as number, archivePath: r[2] as string };
    }
  }

  /**
   * The rows of a query as arrays of its columns (no object per row), `pageSize` rows at a time
   * through one cached statement, so that memory holds one small page whatever the number of
   * rows. The query selects the row id first and pages by it: it takes `params`, then the last id
   * read (0 at first) and the page size, as its last two parameters (`... id > ? ORDER BY id
   * LIMIT ?`); for the query modules beside this one, which keep their fixed column lists.
   */
  *streamArrays(
    sql: string,
    params: SQLInputValue[],
    pageSize = PACK_PAGE,
  ): Generator<SQLInputValue[]> {
    const page = this.#arrayStatement(sql);
    for (let afterId = 0;;) {
      const rows = page.all(...params, afterId, pageSize) as unknown as SQLInputValue[][];
      if (rows.length === 0) return;
      yield* rows;
      afterId = rows[rows.length - 1][0] as number;
    }
  }

  /** A cached statement whose rows come as arrays (no object per row). */
  #arrayStatement(sql: string): StatementSync {
    const key = `arrays:${sql}`;
    let statement = this.#statements.get(key);
    if (!statement) {
      statement = this.#db.prepare(sql);
      // Deno's node:sqlite has it (as Node 24 has), its type declarations not yet.
      (statement as StatementSync & { setReturnArrays(on: boolean): void }).setReturnArrays(true);
      this.#statements.set(key, statement);
    }
    return statement;
  }

  /** The recorded folders above `path`, outermost first (stopping at the source folder). */
  ancestorFolders(path: string): FileRecord[] {
    const folders: FileRecord[] = [];
    for (let parent = dirname(path); parent !== path; path = parent, parent = dirname(path)) {
      const row = this.#get("SELECT * FROM files WHERE path = ? AND type = 'directory'", parent);
      if (!row) break;
      folders.unshift(fileFromRow(row));
    }
    return folders;
  }

  /**
   * Why this catalog, just created, could not be limited to its owner (Windows without a working
   * `icacls`): it is then readable by whoever can read its folder. Undefined when it is limited.
   */
  get notOwnerOnly(): string | undefined {
    return this.#notOwnerOnly;
  }

  /** The type (`directory`, `file`, ...) of the entry backed up from `path`, if there is one. */
  entryTypeAt(path: string): string | undefined {
    return this.#get("SELECT type FROM files WHERE path = ? LIMIT 1", path)?.type as
      | string
      | undefined;
  }

  /**
   * Stores the volume plan and assigns each file not held by an earlier backup its volume, then
   * moves to phase `planned`.
   */
  savePlan(volumes: PlannedVolume[]): void {
    this.transaction(() => {
      for (const v of volumes) {
        this.#recordVolume(v);
        // Files the scan recorded without a volume (it plans as it goes, so normally none:
        // the index on (volume_id, id) finds that without reading the range).
        this.#run(
          "UPDATE files SET volume_id = ? WHERE volume_id IS NULL AND id BETWEEN ? AND ?",
          v.id,
          v.firstFileId,
          v.lastFileId,
        );
      }
      this.setPhase("planned");
    });
  }

  /** Every volume, in order (a backup has at most a few thousand). */
  volumes(): VolumeRecord[] {
    return this.#all("SELECT * FROM volumes ORDER BY id").map(volumeFromRow);
  }

  /** One volume by id. */
  volume(id: number): VolumeRecord {
    const row = this.#get("SELECT * FROM volumes WHERE id = ?", id);
    if (!row) throw new CatalogError(`volume ${id} is not in the catalog`);
    return volumeFromRow(row);
  }

  /**
   * Records the outcome of packing some files (changed, vanished, unreadable, stored), and for a
   * hardlink stored otherwise than scanned, its new type (a full copy) or link target.
   */
  updateFiles(updates: PackedFileUpdate[]): void {
    this.transaction(() => {
      for (const u of updates) {
        this.#run(
          "UPDATE files SET state = ?, size = ?, mtime_ms = ?, type = COALESCE(?, type), " +
            "link_target = CASE WHEN ? IS NULL THEN link_target ELSE ? END WHERE id = ?",
          u.state,
          u.size,
          u.mtimeMs,
          u.type ?? null,
          u.type ?? null,
          u.linkTarget ?? null,
          u.id,
        );
      }
    });
  }

  /** Records the multipart upload a volume is being sent with. */
  startUpload(volumeId: number, uploadId: string, partSize: number): void {
    this.transaction(() => {
      this.#run("DELETE FROM parts WHERE volume_id = ?", volumeId);
      this.#run(
        "UPDATE volumes SET upload_id = ?, part_size = ? WHERE id = ?",
        uploadId,
        partSize,
        volumeId,
      );
    });
  }

  /** Records one finished part. */
  recordPart(volumeId: number, uploadId: string, part: PartRecord): void {
    this.#run(
      "INSERT OR REPLACE INTO parts (volume_id, upload_id, part_number, etag, size) " +
        "VALUES (?, ?, ?, ?, ?)",
      volumeId,
      uploadId,
      part.partNumber,
      part.etag,
      part.size,
    );
  }

  /** The finished parts recorded for a volume's upload, by part number. */
  parts(volumeId: number, uploadId: string): PartRecord[] {
    return this.#all(
      "SELECT part_number, etag, size FROM parts WHERE volume_id = ? AND upload_id = ? " +
        "ORDER BY part_number",
      volumeId,
      uploadId,
    ).map((r) => ({
      partNumber: r.part_number as number,
      etag: r.etag as string,
      size: r.size as number,
    }));
  }

  /** File counts and bytes by state (as `fileStateSql` reads it), for summaries. */
  fileTotals(): { state: FileState; type: string; count: number; bytes: number }[] {
    return this.#all(
      `SELECT ${fileStateSql()} AS state, type, COUNT(*) AS count, ` +
        "COALESCE(SUM(size), 0) AS bytes FROM files GROUP BY 1, type",
    ).map((r) => ({
      state: r.state as FileState,
      type: r.type as string,
      count: r.count as number,
      bytes: r.bytes as number,
    }));
  }

  /**
   * The entries stored (`stored` or `changed`, in a volume built: as `fileStateSql` reads them)
   * and their bytes, and how many are in one of the `troubled` states, for a run's summary: two
   * plain passes over the table, where `fileTotals`' GROUP BY sorts every row (0.06 instead of
   * 0.12 s for 300,000 files).
   */
  storedTotals(troubled: readonly FileState[]): { count: number; bytes: number; troubled: number } {
    const stored = this.#get(
      "SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS bytes FROM files " +
        `WHERE ${fileStateSql()} IN ('stored', 'changed')`,
    )!;
    const marks = troubled.map(() => "?").join(", ");
    const others = this.#get(
      `SELECT COUNT(*) AS count FROM files WHERE state IN (${marks})`,
      ...troubled,
    )!;
    return {
      count: stored.count as number,
      bytes: stored.bytes as number,
      troubled: others.count as number,
    };
  }

  /** Files whose state is one of `states`, for listing warnings (bounded by `limit`). */
  filesInStates(states: FileState[], limit: number): FileRecord[] {
    const marks = states.map(() => "?").join(", ");
    return this.#db.prepare(
      `SELECT * FROM files WHERE state IN (${marks}) ORDER BY id LIMIT ?`,
    ).all(...states, limit).map((r) => fileFromRow(r as Row));
  }
}

/** One backup of a chain: its id and the key of its catalog copy in the bucket. */
export interface ChainLink {
  backupId: string;
  catalogKey: string;
}

/** What a new incremental backup takes from its base. */
export interface BaseLink {
  /** The base's chain, oldest first, the base last. */
  chain: ChainLink[];
  /** What the base was when the incremental started (resume checks it is still so). */
  fingerprint: string;
}

/** The key material stored with a backup. */
export interface CatalogKeys {
  identity?: string;
  recipients: string[];
}

/**
 * Walks rows in id order a page at a time, holding one page: `readPage(afterId)` reads the rows
 * after `afterId` (0 for the first page), in id order; an empty page ends the walk.
 */
export function* pagedById<T extends { id: number }>(
  readPage: (afterId: number) => T[],
): Generator<T> {
  for (let afterId = 0;;) {
    const page = readPage(afterId);
    if (page.length === 0) return;
    yield* page;
    afterId = page[page.length - 1].id;
  }
}

/** Maps a `files` row to a `FileRecord` (for the query modules beside this one). */
export function fileFromRow(r: Row): FileRecord {
  return {
    id: r.id as number,
    path: r.path as string,
    archivePath: r.archive_path as string,
    type: r.type as FileRecord["type"],
    size: r.size as number,
    mtimeMs: r.mtime_ms as number,
    mode: r.mode as number,
    linkTarget: r.link_target as string | null,
    volumeId: r.volume_id as number | null,
    state: r.state as FileState,
    ctimeMs: (r.ctime_ms ?? null) as number | null,
    fileId: (r.file_id ?? null) as string | null,
  };
}

/** Maps a `volumes` row to a `VolumeRecord`. */
export function volumeFromRow(r: Row): VolumeRecord {
  return {
    id: r.id as number,
    name: r.name as string,
    objectKey: r.object_key as string,
    storageClass: r.storage_class as string,
    firstFileId: r.first_file_id as number,
    lastFileId: r.last_file_id as number,
    plannedBytes: r.planned_bytes as number,
    state: r.state as VolumeState,
    size: r.size as number | null,
    sha256: r.sha256 as string | null,
    uploadId: r.upload_id as string | null,
    partSize: r.part_size as number | null,
    backupId: (r.backup_id ?? null) as string | null,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function damaged(path: string, quickCheck: string): CatalogError {
  return new CatalogError(`state database ${path} is damaged: ${quickCheck}`);
}
