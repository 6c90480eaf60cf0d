/**
 * The check that a volume file holds the bytes the catalog recorded: its size and SHA-256. A
 * restore makes it before a byte of the volume is decoded, whether the volume was downloaded into
 * the staging folder or is read where it lies in a `file:` bucket.
 */

/** The bytes of a volume are not the ones the catalog recorded. */
export class ChecksumError extends Error {
  override name = "ChecksumError";
}

/**
 * Whether only this user (or root) can change the bytes of the file `info` describes: it is this
 * user's and neither its group nor others may write it (an ACL granting more shows in the group
 * bits). A volume is read where it lies, checked once and decoded after, only then: anyone else
 * able to write it could change its bytes between the check and the decoding. False where the
 * system tells no owner (Windows).
 */
export function onlyOursToWrite(info: Deno.FileInfo): boolean {
  const uid = Deno.uid();
  return uid !== null && info.uid === uid && info.mode !== null && (info.mode & 0o022) === 0;
}

/** What the catalog records of a volume file, to check it against. */
export interface VolumeCheck {
  /** The object key, for messages. */
  key: string;
  size: number;
  /** SHA-256, lowercase hex. */
  sha256: string;
}

/** The error for a volume whose SHA-256 is not the catalog's. */
export function hashMismatch(key: string, got: string, expected: string): ChecksumError {
  return new ChecksumError(
    `${key} does not match its SHA-256 in the catalog (got ${got}, expected ${expected}): the ` +
      "object is damaged or was replaced",
  );
}

/** The error for a volume file whose size is not the catalog's. */
export function sizeMismatch(key: string, got: number, expected: number): ChecksumError {
  return new ChecksumError(
    `${key} is ${got} bytes, not the ${expected} the catalog records: the object is damaged ` +
      "or was replaced",
  );
}
