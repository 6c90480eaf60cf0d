/**
 * What an incremental backup takes from its base: the base's volumes (copied into the new
 * catalog as chain volumes, keeping their numbers), the scanned files unchanged since the base
 * (recorded as held by the base's volume, never read or uploaded again), and the paths deleted
 * since the base.
 *
 * A file is unchanged when its path, type, size, modification time, mode, change time and file
 * id (dev:ino) all match its base row (a link's target too). With `rehash`, change time and file
 * id are not compared; the file's bytes are read and their SHA-256 must match the one recorded
 * when the base packed them. A later name of a hardlinked file is always packed again (a TAR
 * hardlink needs its first name in the same volume).
 */
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import type { StatementSync } from "node:sqlite";
import type { Catalog, FileRecord, FileToRecord } from "../catalog/catalog.ts";
import type { NewFile } from "../archive/scan.ts";
import { fileFromRow, type Row } from "../catalog/catalog.ts";

/** A file's row in the base, with the SHA-256 (hex) of the bytes the base packed, if known. */
type BaseRow = FileRecord & { contentSha256: string | null };

/** Matches scanned files against the base's catalog. */
export class BaseMatcher {
  readonly #base: Catalog;
  readonly #rehash: boolean;
  #byPath: StatementSync | undefined;

  constructor(base: Catalog, rehash: boolean) {
    this.#base = base;
    this.#rehash = rehash;
  }

  /**
   * Copies every uploaded volume of the base (its own and its chain's) into `catalog`; returns
   * the number the new backup's first volume takes (after every number the base knows).
   */
  copyVolumes(catalog: Catalog): number {
    const own = this.#base.settings().backupId;
    const volumes = this.#base.volumes();
    catalog.transaction(() => {
      for (const v of volumes) {
        if (v.state === "uploaded") catalog.addChainVolume(v, v.backupId ?? own);
      }
    });
    return volumes.reduce((max, v) => Math.max(max, v.id), 0) + 1;
  }

  /** The scanned `files`, each unchanged one marked as held by its base volume. */
  match(files: NewFile[]): FileToRecord[] {
    return files.map((file) => {
      const row = this.#baseRow(file.path);
      if (!row || row.volumeId === null || !this.#unchanged(file, row)) return file;
      return {
        ...file,
        held: { volumeId: row.volumeId, state: "stored", contentSha256: row.contentSha256 },
      };
    });
  }

  /** The base's stored row of `path`, with the SHA-256 of the bytes it packed (if known). */
  #baseRow(path: string): BaseRow | undefined {
    this.#byPath ??= this.#base.db.prepare(
      "SELECT f.*, h.sha256 AS content_sha256 FROM files f " +
        "LEFT JOIN content_hashes h ON h.file_id = f.id " +
        "WHERE f.path = ? AND f.state = 'stored' ORDER BY f.id LIMIT 1",
    );
    const row = this.#byPath.get(path) as Row | undefined;
    if (!row) return undefined;
    return { ...fileFromRow(row), contentSha256: (row.content_sha256 ?? null) as string | null };
  }

  #unchanged(file: NewFile, row: BaseRow): boolean {
    if (file.type === "hardlink" || row.type !== file.type) return false;
    if (row.size !== file.size || row.mtimeMs !== file.mtimeMs || row.mode !== file.mode) {
      return false;
    }
    if (row.linkTarget !== file.linkTarget) return false;
    if (this.#rehash) {
      if (file.type !== "file") return true;
      return row.contentSha256 !== null && contentHash(file.path) === row.contentSha256;
    }
    if (row.ctimeMs === null || row.ctimeMs !== (file.ctimeMs ?? null)) return false;
    return row.fileId === (file.fileId ?? null);
  }
}

/** The SHA-256 (hex) of a file's bytes, or undefined when it cannot be read. */
function contentHash(path: string): string | undefined {
  try {
    using handle = Deno.openSync(path, { read: true });
    const hash = createHash("sha256");
    const buffer = new Uint8Array(1 << 20);
    for (let n = handle.readSync(buffer); n !== null; n = handle.readSync(buffer)) {
      hash.update(buffer.subarray(0, n));
    }
    return hash.digest("hex");
  } catch {
    return undefined;
  }
}

/**
 * The archive paths of the base's snapshot that are not in `catalog`'s: each deleted file, or
 * the topmost deleted folder of a deleted tree (its contents go with it), in the base's order.
 */
export function* deletedSinceBase(base: Catalog, catalog: Catalog): Generator<string> {
  const present = catalog.db.prepare("SELECT 1 FROM files WHERE path = ? LIMIT 1");
  const inBase = base.db.prepare(
    "SELECT 1 FROM files WHERE path = ? AND state IN ('stored', 'changed') LIMIT 1",
  );
  for (
    const row of base.streamRows(
      "SELECT path, archive_path FROM files WHERE state IN ('stored', 'changed') ORDER BY id",
    )
  ) {
    const path = row.path as string;
    if (present.get(path)) continue;
    const parent = dirname(path);
    if (parent !== path && !present.get(parent) && inBase.get(parent)) continue;
    yield row.archive_path as string;
  }
}
