/** Volumes counted and summed by storage class, as keeping or thawing them is priced. */

/** How many volumes one storage class holds, and their bytes. */
export interface ClassTotal {
  storageClass: string;
  volumes: number;
  bytes: number;
}

/** Counts `volumes` and sums their bytes (`bytesOf`) by storage class, in order of first sight. */
export function totalsByClass<T extends { storageClass: string }>(
  volumes: Iterable<T>,
  bytesOf: (volume: T) => number,
): ClassTotal[] {
  const totals = new Map<string, ClassTotal>();
  for (const volume of volumes) {
    const total = totals.get(volume.storageClass) ??
      { storageClass: volume.storageClass, volumes: 0, bytes: 0 };
    total.volumes++;
    total.bytes += bytesOf(volume);
    totals.set(volume.storageClass, total);
  }
  return [...totals.values()];
}
