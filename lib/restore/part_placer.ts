/**
 * The last steps of writing a restored file, shared by the thread that reads the volume
 * (`RestoreWriter`) and the worker that places small files beside it (place_worker.ts): write the
 * whole content, mtime, owner and mode to a part file in the staging folder, then give it its name
 * (see safe_writer.ts for why a part file, and how a name is given without replacing anything).
 * Everything here is plain calls on paths the caller has checked already.
 */
import { type Owner, restoredMode, restoreOwnerSync } from "./owner_ids.ts";
import type { WriteOutcome } from "./safe_writer.ts";

const isWindows = Deno.build.os === "windows";

/**
 * Where a file goes (`full`) and how: `checked`, what is at its name was looked at already (a
 * rename); `fresh`, its folder was made by this run (a rename); else a hard link.
 */
export interface Placement {
  full: string;
  checked: boolean;
  fresh: boolean;
}

/** What a part file is given: its stored mode, mtime (seconds) and, when restored, owner. */
export interface PartMeta {
  mode: number;
  mtime: number;
  owner?: Owner;
}

/**
 * How a placer works: the writer's settings (see `RestoreWriterOptions`), the umask, and whether
 * small files may be written in place in folders this run made (`writeInPlaceSync`).
 */
export interface PlacerSettings {
  overwrite: boolean;
  restoreOwners: boolean;
  umask: number;
  inPlace: boolean;
}

/** Writes part files and gives them their names, for one restore. */
export class PartPlacer {
  readonly #settings: PlacerSettings;
  /** False once the file system refused a hard link: files then go in by rename after lstat. */
  linksWork = true;
  /**
   * The owner and group part files are created with (the process's, or the staging folder's
   * group): read from the first one, then known, since neither changes during a run.
   */
  #partOwner: Owner | undefined;
  readonly #partPrefix: string;
  #nextPart = 0;

  /** A placer as `settings` say, naming its part files `<partPrefix><n>.part`. */
  constructor(settings: PlacerSettings, partPrefix: string) {
    this.#settings = settings;
    this.#partPrefix = partPrefix;
  }

  /** A new part file path (in the staging folder: see `partPrefix`). */
  newPart(): string {
    return `${this.#partPrefix}${this.#nextPart++}.part`;
  }

  /**
   * The mode to create a part file with: a plain mode the umask keeps whole is given at creation
   * (`plain`: chown leaves it as it is, no chmod needed); any other is set after the owner.
   */
  partMode(meta: PartMeta): { mode: number; plain: boolean } {
    const plain = (meta.mode & 0o7777 & (0o7000 | this.#settings.umask)) === 0;
    return { mode: plain ? meta.mode & 0o777 : 0o600, plain };
  }

  /**
   * Creates, writes and closes the part file in one call, then sets its owner (compared with
   * what this run's part files are created with, learned once, rather than read back), its mode
   * and, last, its mtime, all by path (the part file is this run's own, in the staging folder no
   * one else may enter). The mtime goes last so that a file with its mtime is complete, which
   * is how a file written in place (`writeInPlaceSync`) is told from one a killed run left half
   * written. Removes it on failure.
   */
  writeSync(part: string, body: Uint8Array, meta: PartMeta): void {
    const { mode, plain } = this.partMode(meta);
    try {
      // Without a mode, the file is created with 0666 less the umask and nothing more is done;
      // with one, Deno also sets it exactly (fchmod), which a plain mode needs no more than that.
      Deno.writeFileSync(part, body, {
        createNew: true,
        mode: mode === (0o666 & ~this.#settings.umask) ? undefined : mode,
      });
      this.#ownerAndMode(
        part,
        meta,
        plain,
        () => this.#partOwner ??= ownerOf(Deno.lstatSync(part)),
      );
      const time = new Date(meta.mtime * 1000);
      Deno.utimeSync(part, time, time);
    } catch (error) {
      removeQuietly(part);
      throw error;
    }
  }

  /**
   * Writes a file under its real name at once, as `writeSync` writes a part file, when that is
   * as safe: `place.fresh` (its folder was made by this run, so nothing of the user's is there),
   * `inPlace` settings (no one else may write in such a folder), and nothing at the name (the
   * file is created new). Returns false, having done nothing, when any of that does not hold;
   * the caller writes a part file then. The caller names the file in the run's journal first
   * (placing_journal.ts): a killed run leaves it half-written.
   */
  writeInPlaceSync(place: Placement, body: Uint8Array, meta: PartMeta): boolean {
    if (!place.fresh || !this.#settings.inPlace) return false;
    const { mode, plain } = this.partMode(meta);
    let file: Deno.FsFile;
    try {
      // A plain mode is whole after the umask: the file is created with it.
      file = Deno.openSync(place.full, { write: true, createNew: true, mode });
    } catch (error) {
      // A name taken in a fresh folder (a damaged catalog's second entry): placed the usual way.
      if (error instanceof Deno.errors.AlreadyExists) return false;
      throw error;
    }
    try {
      for (let done = 0; done < body.length;) done += file.writeSync(body.subarray(done));
      // The owner it was created with, from the open file (fstat: no path to look up).
      this.#ownerAndMode(place.full, meta, plain, () => ownerOf(file.statSync()));
      // The mtime last, on the open file: a file with its mtime is complete.
      const time = new Date(meta.mtime * 1000);
      file.utimeSync(time, time);
    } catch (error) {
      file.close();
      removeQuietly(place.full);
      throw error;
    }
    file.close();
    return true;
  }

  /**
   * Gives the new file at `path` its stored owner when owners are restored and it was not
   * created with it (`made`: the owner it was created with, asked only then), then its mode
   * unless it was created with it (`plain`), as chown clears setuid and setgid.
   */
  #ownerAndMode(
    path: string,
    meta: PartMeta,
    plain: boolean,
    made: () => Owner | undefined,
  ): void {
    let owned = false;
    if (this.#settings.restoreOwners && meta.owner) {
      const created = made();
      owned = (created?.uid === meta.owner.uid && created.gid === meta.owner.gid) ||
        restoreOwnerSync(path, meta.owner);
    }
    if (!isWindows && !plain) Deno.chmodSync(path, restoredMode(meta.mode, owned));
  }

  /**
   * Gives a complete part file its name (`place`), then on Windows the read-only bit; removes the
   * part file if that fails.
   */
  placePart(part: string, placement: Placement, meta: PartMeta): WriteOutcome {
    try {
      return windowsReadOnly(this.place(part, placement), placement.full, meta);
    } catch (error) {
      removeQuietly(part);
      throw error;
    }
  }

  /**
   * Gives the complete part file its name: after a check (`checked`) by a rename; into a folder
   * this run made (`fresh`) by a rename too, as nothing but this run's own entries can be there
   * (another entry of the same name from a damaged catalog, replaced; a folder or anything the
   * rename refuses is reported like a taken name); otherwise by a hard link, which fails when
   * anything is there (then `exists`, or `blocked` for a folder with `overwrite`), and the part
   * name is removed. Where hard links fail for good, by a rename after a look at the name.
   */
  place(part: string, { full, checked, fresh }: Placement): WriteOutcome {
    if (fresh) {
      try {
        Deno.renameSync(part, full);
        return { kind: "written" };
      } catch (error) {
        const info = lstatOrUndefined(full);
        if (!info) throw error;
        Deno.removeSync(part);
        return refuseReplacing(info, this.#settings.overwrite) ?? { kind: "exists" };
      }
    }
    if (!checked) {
      let outcome: WriteOutcome | undefined;
      if (this.linksWork) {
        try {
          Deno.linkSync(part, full);
          outcome = { kind: "written" };
        } catch (error) {
          if (!(error instanceof Deno.errors.AlreadyExists)) {
            // No hard links here (FAT, some network shares): check, then rename, from now on.
            this.linksWork = false;
          }
        }
      }
      if (!outcome) {
        const info = lstatOrUndefined(full);
        if (info) outcome = refuseReplacing(info, this.#settings.overwrite) ?? { kind: "exists" };
      }
      if (outcome) {
        Deno.removeSync(part);
        return outcome;
      }
    }
    Deno.renameSync(part, full);
    return { kind: "written" };
  }
}

/**
 * Why an entry found in place (`info`, from lstat) may not be replaced: `exists` unless
 * `overwrite` is set, `blocked` for a real folder; undefined when it may be replaced.
 */
export function refuseReplacing(info: Deno.FileInfo, overwrite: boolean): WriteOutcome | undefined {
  if (!overwrite) return { kind: "exists" };
  if (info.isDirectory && !info.isSymlink) {
    return { kind: "blocked", reason: "a folder is in the way" };
  }
  return undefined;
}

/** The owner and group in `info`, when the system gives them (not on Windows). */
function ownerOf(info: Deno.FileInfo): Owner | undefined {
  return info.uid !== null && info.gid !== null ? { uid: info.uid, gid: info.gid } : undefined;
}

/** lstat, or undefined when nothing is there. */
export function lstatOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Removes a part file name if it is still there (after its file went into place, or failed). */
export function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Already renamed into place, or never created.
  }
}

/**
 * Windows keeps one mode bit, read-only: a file stored without the owner's write bit gets it once
 * it has its name (a read-only part file could not be removed after the hard link).
 */
export function windowsReadOnly(outcome: WriteOutcome, full: string, meta: PartMeta): WriteOutcome {
  if (isWindows && outcome.kind === "written" && (meta.mode & 0o200) === 0) {
    Deno.chmodSync(full, 0o444);
  }
  return outcome;
}
