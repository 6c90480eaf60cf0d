/** The storage-class rules (lib/storage/storage_class.ts) and the price table that follows them. */
import assert from "node:assert/strict";
import {
  isStorageClass,
  minimumStorageDays,
  needsThaw,
  STORAGE_CLASSES,
  thawTiers,
  thawWait,
} from "../../lib/storage/storage_class.ts";
import { DEFAULT_PRICES } from "../../lib/pricing/prices.ts";
import { applyPriceOverrides } from "../../lib/pricing/price_file.ts";
import { UsageError } from "../../lib/archive/errors.ts";

Deno.test("only GLACIER and DEEP_ARCHIVE are thawed; the minimum durations are S3's", () => {
  assert.deepEqual(STORAGE_CLASSES.filter(needsThaw), ["GLACIER", "DEEP_ARCHIVE"]);
  assert.deepEqual(
    Object.fromEntries(STORAGE_CLASSES.map((c) => [c, minimumStorageDays(c)])),
    {
      STANDARD: 0,
      REDUCED_REDUNDANCY: 0,
      STANDARD_IA: 30,
      ONEZONE_IA: 30,
      INTELLIGENT_TIERING: 0,
      GLACIER: 90,
      DEEP_ARCHIVE: 180,
      GLACIER_IR: 90,
    },
  );
});

Deno.test("an unknown class (or a name of Object.prototype) has no rules", () => {
  for (const name of ["COLD_STORAGE", "toString", "__proto__", "deep_archive", ""]) {
    assert.equal(isStorageClass(name), false, name);
    assert.equal(needsThaw(name), false, name);
    assert.deepEqual(thawTiers(name), [], name);
    assert.equal(minimumStorageDays(name), 0, name);
    assert.equal(thawWait(name, "Bulk")!.text, "none", name);
  }
});

Deno.test("the price table prices every class, and exactly the tiers each class offers", () => {
  assert.deepEqual(Object.keys(DEFAULT_PRICES.classes).sort(), [...STORAGE_CLASSES].sort());
  for (const storageClass of STORAGE_CLASSES) {
    const priced = Object.keys(DEFAULT_PRICES.classes[storageClass].restoreTiers).sort();
    assert.deepEqual(priced, [...thawTiers(storageClass)].sort(), storageClass);
    for (const tier of thawTiers(storageClass)) {
      assert.ok(thawWait(storageClass, tier)!.maxMinutes > 0, `${storageClass} ${tier}`);
    }
  }
});

Deno.test("a prices file cannot change a minimum duration: it is a rule, not a price", () => {
  assert.throws(
    () => applyPriceOverrides('{"classes": {"DEEP_ARCHIVE": {"minimumDays": 0}}}', "p.json"),
    (error: Error) =>
      error instanceof UsageError &&
      /unknown price "classes\.DEEP_ARCHIVE\.minimumDays"/.test(error.message),
  );
});
