/**
 * Owners and special mode bits of restored entries, as `tar` does it: a restore run as root gives
 * each file, folder and symlink the owner and group stored in the volume (the uid and gid of the
 * TAR entry), unless told not to (`--no-same-owner`). An entry whose owner is not restored (not
 * root, `--no-same-owner`, or the system refused) loses its setuid, setgid and sticky bits: a
 * setuid program of an ordinary user must never come back as a setuid program owned by root.
 */
import { lchownSync } from "node:fs";
import { givenOwner, type Owner } from "./owner_ids.ts";

export { type Owner, restoredMode, restoreOwnerSync, runningAsRoot } from "./owner_ids.ts";

/**
 * Gives the symlink at `path` itself (never its target) the owner and group `owner`; returns
 * false when the ids are out of range or the system refuses. Deno.chown follows symlinks;
 * node:fs's lchown (built into Deno) does not.
 */
export function restoreLinkOwnerSync(path: string, owner: Owner): boolean {
  return givenOwner(owner, (uid, gid) => lchownSync(path, uid, gid));
}
