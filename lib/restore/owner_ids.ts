/**
 * Owners and special mode bits of restored entries, as `tar` does it: a restore run as root gives
 * each file, folder and symlink the owner and group stored in the volume (the uid and gid of the
 * TAR entry), unless told not to (`--no-same-owner`). An entry whose owner is not restored (not
 * root, `--no-same-owner`, or the system refused) loses its setuid, setgid and sticky bits: a
 * setuid program of an ordinary user must never come back as a setuid program owned by root.
 *
 * This module holds what needs only Deno's own calls (a worker that places files loads it without
 * node:fs, ~13 MiB less); ownership.ts adds the symlink owner (node:fs's lchown).
 */

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
 * Gives the file or folder at `path` (following a symlink: see ownership.ts's
 * `restoreLinkOwnerSync`) the owner and group `owner`; returns false when the ids are out of
 * range or the system refuses. Call it before setting the mode: changing an owner clears setuid
 * and setgid.
 */
export function restoreOwnerSync(path: string, owner: Owner): boolean {
  return givenOwner(owner, (uid, gid) => Deno.chownSync(path, uid, gid));
}

/**
 * Runs `chown` with `owner`'s ids (a plain call, following links or not); false, without
 * running it, when the ids are out of range, and false when the system refuses.
 */
export function givenOwner(owner: Owner, chown: (uid: number, gid: number) => void): boolean {
  if (!validId(owner.uid) || !validId(owner.gid)) return false;
  try {
    chown(owner.uid, owner.gid);
    return true;
  } catch {
    return false;
  }
}

/** True for an id a system takes as an owner or group. */
function validId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 0 && id <= MAX_ID;
}
