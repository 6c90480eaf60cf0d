/** Price overrides from a JSON file: partial files, the environment variable, malformed files. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { applyPriceOverrides, loadPrices } from "../../lib/pricing/price_file.ts";
import { DEFAULT_PRICES, GB, restoreCost, storageCostPerMonth } from "../../lib/pricing/prices.ts";
import { UsageError } from "../../lib/archive/errors.ts";

Deno.test("a partial file overrides only what it names", () => {
  const before = structuredClone(DEFAULT_PRICES);
  const prices = applyPriceOverrides(
    JSON.stringify({
      region: "eu-west-1",
      transferOutPerGb: 0.05,
      classes: {
        DEEP_ARCHIVE: { storagePerGbMonth: 0.0018, restoreTiers: { Bulk: { perGb: 0.004 } } },
      },
    }),
    "test.json",
  );
  assert.equal(prices.region, "eu-west-1");
  assert.equal(prices.takenOn, DEFAULT_PRICES.takenOn);
  assert.equal(prices.transferOutPerGb, 0.05);
  const deep = prices.classes.DEEP_ARCHIVE;
  assert.equal(deep.storagePerGbMonth, 0.0018);
  assert.equal(deep.putPer1000, 0.05);
  assert.deepEqual(deep.restoreTiers.Bulk, { perGb: 0.004, per1000Requests: 0.025 });
  assert.deepEqual(
    deep.restoreTiers.Standard,
    DEFAULT_PRICES.classes.DEEP_ARCHIVE.restoreTiers.Standard,
  );
  assert.deepEqual(prices.classes.GLACIER, DEFAULT_PRICES.classes.GLACIER);
  assert.deepEqual(DEFAULT_PRICES, before, "the defaults are never changed");

  // The functions use the table they are given.
  const bulk = restoreCost(
    { bytes: 10 * GB, objects: 0, storageClass: "DEEP_ARCHIVE", tier: "Bulk", days: 0 },
    prices,
  );
  assert.ok(Math.abs(bulk.total - (10 * 0.004 + 10 * 0.05)) < 1e-12, String(bulk.total));
  assert.ok(Math.abs(storageCostPerMonth(GB, 0, "DEEP_ARCHIVE", prices) - 0.0018) < 1e-12);
});

Deno.test("a malformed file is a one-line usage error that names the problem", () => {
  const cases: [string, RegExp][] = [
    ["{ not json", /prices file p\.json is not valid JSON/],
    ["[1, 2]", /must hold a JSON object/],
    ['{"classes": {"DEEP_ARCHIV": {}}}', /unknown price "classes\.DEEP_ARCHIV"/],
    ['{"classes": {"DEEP_ARCHIVE": {"restoreTiers": {"Expedited": {}}}}}', /unknown price/],
    ['{"transferOutPerGb": "0.09"}', /"transferOutPerGb" must be a number of at least 0/],
    ['{"transferOutPerGb": -1}', /must be a number of at least 0/],
    ['{"classes": {"GLACIER": 3}}', /"classes\.GLACIER" must be an object/],
    ['{"region": 5}', /"region" must be a string/],
    ['{"toString": 1}', /unknown price "toString"/],
  ];
  for (const [text, expected] of cases) {
    assert.throws(
      () => applyPriceOverrides(text, "p.json"),
      (error: Error) =>
        error instanceof UsageError && expected.test(error.message) &&
        !error.message.includes("\n"),
      text,
    );
  }
});

Deno.test("loadPrices reads --prices FILE, else GLACIER_PRICES_FILE, else the defaults", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-prices-" });
  const saved = Deno.env.get("GLACIER_PRICES_FILE");
  try {
    const fromOption = join(dir, "option.json");
    const fromEnv = join(dir, "env.json");
    await Deno.writeTextFile(fromOption, '{"transferOutPerGb": 0.01}');
    await Deno.writeTextFile(fromEnv, '{"transferOutPerGb": 0.02}');
    Deno.env.delete("GLACIER_PRICES_FILE");
    assert.equal(await loadPrices(), DEFAULT_PRICES);
    Deno.env.set("GLACIER_PRICES_FILE", fromEnv);
    assert.equal((await loadPrices()).transferOutPerGb, 0.02);
    assert.equal((await loadPrices(fromOption)).transferOutPerGb, 0.01);
    await assert.rejects(
      () => loadPrices(join(dir, "missing.json")),
      (error: Error) =>
        error instanceof UsageError && /cannot read prices file .*no such file/.test(error.message),
    );
  } finally {
    if (saved === undefined) Deno.env.delete("GLACIER_PRICES_FILE");
    else Deno.env.set("GLACIER_PRICES_FILE", saved);
    await Deno.remove(dir, { recursive: true });
  }
});
