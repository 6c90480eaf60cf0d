/** Telling whether two looks at the file system saw one and the same file. */

/** A file's identity as the system gives it: the inode is null where it gives none. */
export interface InodeIdentity {
  dev: number;
  ino: number | null;
}

/**
 * Whether `a` and `b` are the same file (the same device and inode). False when the system gave
 * no inode: two such files cannot be told apart, and each caller says what that means for it.
 */
export function sameInode(a: InodeIdentity, b: InodeIdentity): boolean {
  return a.ino !== null && a.ino === b.ino && a.dev === b.dev;
}

/**
 * A file's identity as one string, `dev:ino`: the form the scan records (the catalog's `file_id`)
 * and packing compares with. Null where the system gives no device or inode.
 */
export function fileIdOf(info: { dev: number | null; ino: number | null }): string | null {
  return info.ino === null || info.dev === null ? null : `${info.dev}:${info.ino}`;
}
