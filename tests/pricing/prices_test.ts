/** The price table's cost functions, against figures worked out by hand from the table. */
import assert from "node:assert/strict";
import {
  classPrices,
  DEFAULT_PRICES,
  earlyDeletionCharge,
  GB,
  restoreCost,
  storageCostPerMonth,
  uploadRequestCost,
} from "../../lib/pricing/prices.ts";
import {
  minimumStorageDays,
  needsThaw,
  thawTiers,
  thawWait,
} from "../../lib/storage/storage_class.ts";
import { UsageError } from "../../lib/archive/errors.ts";

/** Asserts two dollar amounts agree to a millionth of a cent. */
function near(actual: number, expected: number, message?: string) {
  assert.ok(Math.abs(actual - expected) < 1e-8, `${message ?? ""} ${actual} != ${expected}`);
}

Deno.test("the table holds every class S3 accepts, with the us-east-1 list prices", () => {
  assert.equal(DEFAULT_PRICES.region, "us-east-1");
  assert.match(DEFAULT_PRICES.takenOn, /^\d{4}-\d{2}-\d{2}$/);
  const storage = Object.fromEntries(
    Object.entries(DEFAULT_PRICES.classes).map(([name, p]) => [name, p.storagePerGbMonth]),
  );
  assert.deepEqual(storage, {
    STANDARD: 0.023,
    INTELLIGENT_TIERING: 0.023,
    STANDARD_IA: 0.0125,
    ONEZONE_IA: 0.01,
    GLACIER_IR: 0.004,
    GLACIER: 0.0036,
    DEEP_ARCHIVE: 0.00099,
    REDUCED_REDUNDANCY: 0.024,
  });
  assert.deepEqual(thawTiers("GLACIER"), ["Expedited", "Standard", "Bulk"]);
  assert.deepEqual(thawTiers("DEEP_ARCHIVE"), ["Standard", "Bulk"]);
  assert.deepEqual(thawTiers("GLACIER_IR"), []);
  assert.equal(needsThaw("DEEP_ARCHIVE"), true);
  assert.equal(needsThaw("STANDARD_IA"), false);
  assert.deepEqual(
    ["STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"].map((c) => minimumStorageDays(c)),
    [30, 90, 90, 180],
  );
});

Deno.test("an unknown storage class is a usage error", () => {
  assert.throws(() => storageCostPerMonth(1, 1, "COLD_STORAGE"), UsageError);
  assert.throws(() => classPrices("toString"), /no prices for storage class toString/);
});

Deno.test("storage per month: bytes at the class rate, plus the 40 KB overhead of archive classes", () => {
  near(storageCostPerMonth(GB, 1, "STANDARD"), 0.023);
  near(storageCostPerMonth(3 * GB, 3, "GLACIER_IR"), 0.012);
  // 10 GiB in 10 DEEP_ARCHIVE objects: 10 x 0.00099, and per object 32 KiB at 0.00099 and
  // 8 KiB at STANDARD's 0.023: 10 x (32768 x 0.00099 + 8192 x 0.023) / 2^30.
  near(storageCostPerMonth(10 * GB, 10, "DEEP_ARCHIVE"), 0.0099 + 10 * (32.44032 + 188.416) / GB);
  near(storageCostPerMonth(0, 1_000_000, "GLACIER"), 1e6 * (32768 * 0.0036 + 8192 * 0.023) / GB);
  // IA classes bill small objects as 128 KiB.
  near(storageCostPerMonth(1024, 1, "STANDARD_IA"), (128 / 1024 / 1024) * 0.0125);
  // Intelligent-Tiering adds its monitoring fee per 1,000 objects.
  near(storageCostPerMonth(GB, 2000, "INTELLIGENT_TIERING"), 0.023 + 2 * 0.0025);
});

Deno.test("upload requests: create, each part and complete, at the class's PUT rate", () => {
  // 10 volumes of 3 parts: 50 requests.
  near(uploadRequestCost(10, 3, "DEEP_ARCHIVE"), 50 / 1000 * 0.05);
  near(uploadRequestCost(10, 3, "GLACIER"), 50 / 1000 * 0.03);
  near(uploadRequestCost(10, 3, "STANDARD"), 50 / 1000 * 0.005);
  near(uploadRequestCost(4, 1.5, "STANDARD_IA"), 14 / 1000 * 0.01);
  assert.equal(uploadRequestCost(0, 0, "DEEP_ARCHIVE"), 0);
});

Deno.test("restore of DEEP_ARCHIVE: retrieval, restore and GET requests, transfer, thawed copy", () => {
  const bulk = restoreCost({
    bytes: 100 * GB,
    objects: 4,
    storageClass: "DEEP_ARCHIVE",
    tier: "Bulk",
    days: 3,
  });
  near(bulk.retrieval, 100 * 0.0025);
  near(bulk.requests, 4 / 1000 * 0.025 + 4 / 1000 * 0.0004);
  near(bulk.transfer, 100 * 0.09);
  near(bulk.temporaryCopy, 100 * 0.023 * 3 / 30);
  near(bulk.total, 0.25 + 0.0001016 + 9 + 0.23);
  const standard = restoreCost({
    bytes: 100 * GB,
    objects: 4,
    storageClass: "DEEP_ARCHIVE",
    tier: "Standard",
  });
  near(standard.retrieval, 2);
  near(standard.requests, 4 / 1000 * 0.1 + 4 / 1000 * 0.0004);
  near(standard.temporaryCopy, 100 * 0.023 / 30, "one day by default");
});

Deno.test("restore of GLACIER: expedited is dear, bulk retrieval is free", () => {
  const expedited = restoreCost({
    bytes: GB,
    objects: 1000,
    storageClass: "GLACIER",
    tier: "Expedited",
  });
  near(expedited.retrieval, 0.03);
  near(expedited.requests, 10 + 0.0004);
  const bulk = restoreCost({ bytes: GB, objects: 1000, storageClass: "GLACIER", tier: "Bulk" });
  assert.equal(bulk.retrieval, 0);
  near(bulk.requests, 0.0004);
  near(bulk.total, 0.0004 + 0.09 + 0.023 / 30);
});

Deno.test("restore of classes readable at once: no tier, no thawed copy, IA read fees", () => {
  const standard = restoreCost({ bytes: 2 * GB, objects: 2, storageClass: "STANDARD" });
  assert.deepEqual(
    { ...standard, requests: Math.round(standard.requests * 1e7) },
    { retrieval: 0, requests: 8, transfer: 0.18, temporaryCopy: 0, total: standard.total },
  );
  near(standard.total, 0.18 + 0.0000008);
  const instant = restoreCost({ bytes: GB, objects: 1, storageClass: "GLACIER_IR", tier: "Bulk" });
  near(instant.retrieval, 0.03);
  near(instant.requests, 0.00001);
  assert.equal(instant.temporaryCopy, 0);
});

Deno.test("a tier the class does not offer is a usage error naming the tiers it has", () => {
  assert.throws(
    () => restoreCost({ bytes: GB, objects: 1, storageClass: "DEEP_ARCHIVE", tier: "Expedited" }),
    (error: Error) =>
      error instanceof UsageError &&
      /DEEP_ARCHIVE.*Standard, Bulk.*not Expedited/.test(error.message),
  );
  assert.throws(() => restoreCost({ bytes: GB, objects: 1, storageClass: "GLACIER" }), UsageError);
  assert.equal(thawWait("DEEP_ARCHIVE", "Expedited"), undefined);
  assert.equal(thawWait("GLACIER"), undefined);
});

Deno.test("early deletion charges the storage of the days left to the minimum duration", () => {
  near(earlyDeletionCharge(GB, "DEEP_ARCHIVE", 30), 0.00099 * 150 / 30);
  near(earlyDeletionCharge(10 * GB, "GLACIER", 0), 10 * 0.0036 * 3);
  near(earlyDeletionCharge(GB, "STANDARD_IA", 29.5), 0.0125 * 0.5 / 30);
  assert.equal(earlyDeletionCharge(GB, "DEEP_ARCHIVE", 180), 0);
  assert.equal(earlyDeletionCharge(GB, "DEEP_ARCHIVE", 400), 0);
  assert.equal(earlyDeletionCharge(GB, "STANDARD", 0), 0);
});

Deno.test("expected waits follow the S3 documentation", () => {
  assert.deepEqual(thawWait("DEEP_ARCHIVE", "Standard"), {
    minMinutes: 0,
    maxMinutes: 12 * 60,
    text: "within 12 h",
  });
  assert.equal(thawWait("DEEP_ARCHIVE", "Bulk")!.maxMinutes, 48 * 60);
  assert.deepEqual(thawWait("GLACIER", "Expedited"), {
    minMinutes: 1,
    maxMinutes: 5,
    text: "1-5 min",
  });
  assert.equal(thawWait("GLACIER", "Standard")!.text, "3-5 h");
  assert.equal(thawWait("GLACIER", "Bulk")!.text, "5-12 h");
  assert.equal(thawWait("STANDARD")!.text, "none");
  assert.equal(thawWait("GLACIER_IR", "Bulk")!.maxMinutes, 0);
});
