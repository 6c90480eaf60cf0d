/**
 * The order S3 lists keys in: by their UTF-8 bytes. JavaScript's `<` compares UTF-16 code units,
 * which disagrees for characters beyond U+FFFF, so listings (local storage, resumed listings)
 * sort and compare with this instead.
 */

const encoder = new TextEncoder();

/** Negative, zero or positive as `a` sorts before, equal to or after `b` in S3 listing order. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const length = Math.min(x.length, y.length);
  for (let i = 0; i < length; i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}
