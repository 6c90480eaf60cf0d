/** Errors of the catalog modules, apart so that every module of lib/catalog/ can throw them. */

/** A catalog that cannot be opened or used; the message is one user-facing line. */
export class CatalogError extends Error {
  override name = "CatalogError";
}
