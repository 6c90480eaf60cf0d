/** Errors of the age encryption module. */

/** Thrown for every age failure; message is one user-facing line (never containing key material). */
export class AgeError extends Error {
  override name = "AgeError";
}
