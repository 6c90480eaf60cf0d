/**
 * Folders whose entries no one but this user (or root) can add, remove or rename: in such a folder
 * a file the scan saw can be swapped for a FIFO or a device (whose open would block or act) only
 * by this user or root, so a backup may open a small file there without looking at it first
 * (volume_tar.ts), and check afterwards, on the open file, that it is the one the scan saw.
 *
 * A folder is sealed when it is a real folder (not a symlink), owned by this user or root, not
 * writable by its group or others, and pinned: its path cannot be made to lead elsewhere by
 * anyone else. `/` is pinned; a folder is pinned when its parent is sealed, or when its parent is
 * pinned and sticky (as /tmp is: there only an entry's owner renames it) and the folder is owned
 * by this user or root. Linux only: on macOS an ACL may let others write into a folder whose mode
 * bits say no (on Linux an ACL's write shows in the group bits), and Windows has no such bits.
 */

/** The folder of an absolute POSIX path (`/` for a top-level entry). */
export function folderOf(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/** What is known of one folder. */
interface Seal {
  pinned: boolean;
  sealed: boolean;
  sticky: boolean;
}

/** Folders remembered at most (the cache is emptied when full: it only saves lookups). */
const REMEMBERED = 4096;

const OPEN: Seal = { pinned: false, sealed: false, sticky: false };
const GROUP_OR_OTHER_WRITE = 0o022;
const STICKY = 0o1000;

/** Answers `isSealed` for the folders of one packer, looking each up once. */
export class SealedFolders {
  /** This user's id; undefined where folders are never taken as sealed. */
  readonly #uid: number | undefined;
  readonly #known = new Map<string, Seal>();

  constructor(os: typeof Deno.build.os = Deno.build.os) {
    this.#uid = os === "linux" ? Deno.uid() ?? undefined : undefined;
  }

  /** Whether only this user or root can change the entries of `folder` (an absolute path). */
  isSealed(folder: string): boolean {
    if (this.#uid === undefined || !folder.startsWith("/")) return false;
    return this.#seal(folder).sealed;
  }

  #seal(folder: string): Seal {
    const known = this.#known.get(folder);
    if (known) return known;
    const seal = this.#look(folder);
    if (this.#known.size >= REMEMBERED) this.#known.clear();
    this.#known.set(folder, seal);
    return seal;
  }

  #look(folder: string): Seal {
    const parent = folder === "/" ? undefined : this.#seal(folderOf(folder));
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(folder);
    } catch {
      return OPEN;
    }
    if (!info.isDirectory || info.mode === null || info.uid === null) return OPEN;
    const owned = info.uid === this.#uid || info.uid === 0;
    const pinned = parent === undefined || parent.sealed ||
      (parent.pinned && parent.sticky && owned);
    return {
      pinned,
      sealed: pinned && owned && (info.mode & GROUP_OR_OTHER_WRITE) === 0,
      sticky: (info.mode & STICKY) !== 0,
    };
  }
}
