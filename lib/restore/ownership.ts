/**
 * Owners and special mode bits of restored entries, as `tar` does it: a restore run as root gives
 * each file, folder and symlink the owner and group stored in the volume (the uid and gid of the
 * TAR entry), unless told not to (`--no-same-owner`). An entry whose owner is not restored (not
 * root, `--no-same-owner`, or the system refused) loses its setuid, setgid and sticky bits: a
 * setuid program of an ordinary user must never come back as a setuid program owned by root.
 */
import { promises as fs } from "node:fs";

/** The owner and group of an entry, as numbers (names are not used). */
export interface Owner {
  uid: number;
  gid: number;
}

/** Largest id a system takes (2^32 - 2; -1, all ones, means "leave unchanged" to chown). */
const MAX_ID = 0xfffffffe;

/** True when this process may give entries away: it runs as root (never so on Windows). */
export function runningAsRoot(): boolean {
  return Deno.build.os !== "windows" && Deno.uid() === 0;
}

/**
 * The permission bits a restored entry gets: all of `mode`'s when its owner was restored, else
 * without setuid (0o4000), setgid (0o2000) and sticky (0o1000).
 */
export function restoredMode(mode: number, ownerRestored: boolean): number {
  return ownerRestored ? mode & 0o7777 : mode & 0o777;
}

/**
 * Gives `path` the owner and group `owner` (the symlink itself, never its target, when
 * `symlink`); returns false when the ids are out of range or the system refuses. Call it before
 * setting the mode: changing an owner clears setuid and setgid.
 */
export async function restoreOwner(
  path: string,
  owner: Owner,
  options: { symlink?: boolean } = {},
): Promise<boolean> {
  if (!validId(owner.uid) || !validId(owner.gid)) return false;
  try {
    // Deno.chown follows symlinks; node:fs's lchown (built into Deno) does not.
    if (options.symlink) await fs.lchown(path, owner.uid, owner.gid);
    else await Deno.chown(path, owner.uid, owner.gid);
    return true;
  } catch {
    return false;
  }
}

/** `restoreOwner` of a file or folder (never a symlink) with a plain call. */
export function restoreOwnerSync(path: string, owner: Owner): boolean {
  if (!validId(owner.uid) || !validId(owner.gid)) return false;
  try {
    Deno.chownSync(path, owner.uid, owner.gid);
    return true;
  } catch {
    return false;
  }
}

function validId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 0 && id <= MAX_ID;
}
