/** Errors of the age encryption module. */

/** Thrown for every age failure; message is one user-facing line (never containing key material). */
export class AgeError extends Error {
  override name = "AgeError";
}

/** None of the identities given opens the file: a wrong key rather than a damaged file. */
export class NoMatchingIdentityError extends AgeError {
  override name = "NoMatchingIdentityError";
}
