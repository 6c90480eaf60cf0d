/**
 * A backup `glacier forget` has forgotten: its volumes that no kept backup needed are deleted and
 * its state database is set aside. When it is an earlier link of a kept backup's chain, its
 * catalog copy stays in the bucket (a chain must not lack a link) with this mark in it, so that
 * nobody reads the copy as a backup still kept.
 */
import type { Catalog } from "./catalog.ts";

const KEY = "forgotten_at";

/** Marks the catalog forgotten now. */
export function markForgotten(catalog: Catalog, at = new Date()): void {
  catalog.transaction(() => {
    catalog.db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) " +
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(KEY, at.toISOString());
  });
}

/** True when `forget` has forgotten this backup. */
export function isForgotten(catalog: Catalog): boolean {
  return catalog.meta(KEY) !== undefined;
}
