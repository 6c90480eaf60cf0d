/**
 * How an object is cut into multipart upload parts: S3 takes at most 10,000 parts, so the part
 * size grows with the object. The backup's uploads and the dry-run forecast share this rule.
 */

const MiB = 1024 * 1024;
/** Part size for volumes up to 160 GB; larger volumes use bigger parts to stay under 10,000. */
export const DEFAULT_PART_SIZE = 16 * MiB;
const MAX_PARTS = 10_000;

/** The part size for an object of `size` bytes: 16 MiB, or more to keep within 10,000 parts. */
export function partSizeFor(size: number): number {
  const needed = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  return Math.max(DEFAULT_PART_SIZE, needed);
}

/** How many parts an object of `size` bytes takes with parts of `partSize` (at least one). */
export function partCount(size: number, partSize = partSizeFor(size)): number {
  return Math.max(1, Math.ceil(size / partSize));
}
