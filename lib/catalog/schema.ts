/**
 * The catalog's SQL schema. One SQLite file per backup; `SCHEMA_VERSION` is stored in
 * `PRAGMA user_version` so that a newer program can migrate and an older one can refuse.
 */

/**
 * Steps that bring an older catalog up to date: `MIGRATIONS[i]` turns version `i + 1` into
 * version `i + 2`. Append only; never edit a step that has shipped.
 */
export const MIGRATIONS: string[] = [
  // 1 -> 2: restore state (lib/catalog/restore_state.ts). Thaw requests are per volume and
  // shared by every restore; extraction progress is per restore job (destination + selection).
  `
CREATE TABLE restore_thaws (
  volume_id    INTEGER PRIMARY KEY REFERENCES volumes (id),
  tier         TEXT NOT NULL,
  days         INTEGER NOT NULL,
  requested_at TEXT NOT NULL,
  requests     INTEGER NOT NULL DEFAULT 1,
  ready_at     TEXT
);
CREATE TABLE restore_jobs (
  id          INTEGER PRIMARY KEY,
  destination TEXT NOT NULL,
  selection   TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  finished_at TEXT,
  UNIQUE (destination, selection)
);
CREATE TABLE restore_extracted (
  job_id       INTEGER NOT NULL REFERENCES restore_jobs (id),
  volume_id    INTEGER NOT NULL REFERENCES volumes (id),
  extracted_at TEXT NOT NULL,
  PRIMARY KEY (job_id, volume_id)
);
`,
  // 2 -> 3: files of type 'hardlink', a later name of a file stored earlier in the same volume
  // (link_target holds that file's archive path). SQLite cannot change a CHECK constraint, so
  // the table is rebuilt with the same columns, rows and indexes.
  `
CREATE TABLE files_v3 (
  id           INTEGER PRIMARY KEY,
  path         TEXT NOT NULL,
  archive_path TEXT NOT NULL,
  type         TEXT NOT NULL CHECK (type IN ('file', 'directory', 'symlink', 'hardlink')),
  size         INTEGER NOT NULL,
  mtime_ms     REAL NOT NULL,
  mode         INTEGER NOT NULL,
  link_target  TEXT,
  volume_id    INTEGER REFERENCES volumes (id),
  state        TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'stored', 'changed', 'vanished', 'unreadable', 'missing', 'deleted'))
);
INSERT INTO files_v3 SELECT id, path, archive_path, type, size, mtime_ms, mode, link_target,
  volume_id, state FROM files;
DROP TABLE files;
ALTER TABLE files_v3 RENAME TO files;
CREATE INDEX files_by_volume ON files (volume_id, id);
CREATE INDEX files_by_path ON files (path);
`,
  // 3 -> 4: incremental backups (lib/catalog/chain.ts). A catalog is a complete snapshot whose
  // files point at volumes of any backup of its chain: a volume row with a `backup_id` is held
  // by that earlier backup (copied from the base's catalog, never built or uploaded here; its
  // number continues the chain's numbering, so names stay unique). `chain` lists the backups of
  // the chain oldest first, this one last; an older catalog is a full backup, its own chain.
  // Files get what the next backup compares with: change time, file id (dev:ino), and the
  // SHA-256 of the bytes packed. `deleted_paths` holds the archive paths gone since the base.
  `
ALTER TABLE volumes ADD COLUMN backup_id TEXT;
ALTER TABLE files ADD COLUMN ctime_ms REAL;
ALTER TABLE files ADD COLUMN file_id TEXT;
ALTER TABLE files ADD COLUMN content_sha256 TEXT;
CREATE TABLE chain (
  position    INTEGER PRIMARY KEY,
  backup_id   TEXT NOT NULL UNIQUE,
  catalog_key TEXT NOT NULL
);
CREATE TABLE deleted_paths (
  id           INTEGER PRIMARY KEY,
  archive_path TEXT NOT NULL
);
INSERT INTO chain (position, backup_id, catalog_key)
  SELECT 0, json_extract(value, '$.backupId'),
    CASE WHEN COALESCE(json_extract(value, '$.prefix'), '') = '' THEN ''
      ELSE json_extract(value, '$.prefix') || '/' END ||
    json_extract(value, '$.backupId') || '/' ||
    CASE WHEN EXISTS (SELECT 1 FROM keys WHERE kind = 'recipient') THEN 'catalog.sqlite3.age'
      ELSE 'catalog.sqlite3' END
  FROM meta WHERE key = 'settings' AND json_extract(value, '$.backupId') IS NOT NULL;
`,
  // 4 -> 5: content hashes get a table of their own. Written as a volume is packed, they were
  // an UPDATE of each file's row (which grew it, splitting pages: 2.5 us a file); appended
  // here, many rows to a statement, they cost a quarter of that.
  `
CREATE TABLE content_hashes (
  file_id INTEGER PRIMARY KEY,
  sha256  TEXT NOT NULL
);
INSERT INTO content_hashes (file_id, sha256)
  SELECT id, content_sha256 FROM files WHERE content_sha256 IS NOT NULL;
ALTER TABLE files DROP COLUMN content_sha256;
`,
  // 5 -> 6: a file is recorded with the outcome its volume's build gives it unless the build
  // finds otherwise: 'stored' (see `FileState`). It was recorded 'pending' and marked 'stored'
  // with its volume, an UPDATE that rewrote every row of the table (0.3 s of a backup of
  // 300,000 files, commit included). Whether the bytes exist yet is the volume's state alone.
  `
UPDATE files SET state = 'stored' WHERE state = 'pending'
  AND (volume_id IS NULL OR volume_id IN (SELECT id FROM volumes WHERE state = 'planned'));
`,
];

/**
 * Run on a new catalog after `MIGRATIONS`, while `files` is empty: makes `files` again with the
 * same columns, in the same order, and the same indexes, its two CHECKs written as comparisons
 * joined by OR instead of `IN (...)`. Both forms accept exactly the same rows, so the schema and
 * its version stay the same (older programs read these catalogs; older catalogs keep the first
 * form, which is right, only slower to insert into). SQLite checks an `IN` list of more than two
 * values by building a temporary index of it for each row it inserts (`EXPLAIN` shows
 * `OpenEphemeral` inside the row loop): 1 us a scanned file, a third of its insert. A migration
 * that changes `files` must change this table too: catalog_test.ts holds the two alike.
 */
export const FILES_WITH_QUICK_CHECKS = `
CREATE TABLE files_quick_checks (
  id           INTEGER PRIMARY KEY,
  path         TEXT NOT NULL,
  archive_path TEXT NOT NULL,
  type         TEXT NOT NULL
    CHECK (type = 'file' OR type = 'directory' OR type = 'symlink' OR type = 'hardlink'),
  size         INTEGER NOT NULL,
  mtime_ms     REAL NOT NULL,
  mode         INTEGER NOT NULL,
  link_target  TEXT,
  volume_id    INTEGER REFERENCES volumes (id),
  state        TEXT NOT NULL DEFAULT 'pending'
    CHECK (state = 'pending' OR state = 'stored' OR state = 'changed' OR state = 'vanished'
      OR state = 'unreadable' OR state = 'missing' OR state = 'deleted'),
  ctime_ms     REAL,
  file_id      TEXT
);
DROP TABLE files;
ALTER TABLE files_quick_checks RENAME TO files;
CREATE INDEX files_by_volume ON files (volume_id, id);
CREATE INDEX files_by_path ON files (path);
`;

/** The schema version this program writes and understands. */
export const SCHEMA_VERSION = 1 + MIGRATIONS.length;

/** Creates every table of an empty version-1 catalog (then `MIGRATIONS` run in order). */
export const CREATE_SCHEMA = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE keys (
  id    INTEGER PRIMARY KEY,
  kind  TEXT NOT NULL CHECK (kind IN ('identity', 'recipient')),
  value TEXT NOT NULL
);
CREATE TABLE volumes (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  object_key    TEXT NOT NULL,
  storage_class TEXT NOT NULL,
  first_file_id INTEGER NOT NULL,
  last_file_id  INTEGER NOT NULL,
  planned_bytes INTEGER NOT NULL,
  state         TEXT NOT NULL DEFAULT 'planned'
    CHECK (state IN ('planned', 'built', 'uploaded', 'missing', 'deleted')),
  size          INTEGER,
  sha256        TEXT,
  upload_id     TEXT,
  part_size     INTEGER,
  built_at      TEXT,
  uploaded_at   TEXT
);
CREATE TABLE files (
  id           INTEGER PRIMARY KEY,
  path         TEXT NOT NULL,
  archive_path TEXT NOT NULL,
  type         TEXT NOT NULL CHECK (type IN ('file', 'directory', 'symlink')),
  size         INTEGER NOT NULL,
  mtime_ms     REAL NOT NULL,
  mode         INTEGER NOT NULL,
  link_target  TEXT,
  volume_id    INTEGER REFERENCES volumes (id),
  state        TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'stored', 'changed', 'vanished', 'unreadable', 'missing', 'deleted'))
);
CREATE INDEX files_by_volume ON files (volume_id, id);
CREATE INDEX files_by_path ON files (path);
CREATE TABLE parts (
  volume_id   INTEGER NOT NULL REFERENCES volumes (id),
  upload_id   TEXT NOT NULL,
  part_number INTEGER NOT NULL,
  etag        TEXT NOT NULL,
  size        INTEGER NOT NULL,
  PRIMARY KEY (volume_id, upload_id, part_number)
);
CREATE TABLE problems (
  id      INTEGER PRIMARY KEY,
  path    TEXT NOT NULL,
  kind    TEXT NOT NULL,
  message TEXT NOT NULL
);
`;
