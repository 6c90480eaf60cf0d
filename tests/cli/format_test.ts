import assert from "node:assert/strict";
import { formatBytes, formatDuration, parseSize } from "../../lib/archive/units.ts";
import { volumeSizeOption } from "../../lib/cli/options.ts";
import { UsageError } from "../../lib/archive/errors.ts";

Deno.test("sizes parse in binary and decimal units", () => {
  assert.equal(parseSize("64MiB"), 64 * 1024 ** 2);
  assert.equal(parseSize("2GiB"), 2 * 1024 ** 3);
  assert.equal(parseSize("2G"), 2 * 1024 ** 3);
  assert.equal(parseSize("500MB"), 500_000_000);
  assert.equal(parseSize("1.5KiB"), 1536);
  assert.equal(parseSize("1048576"), 1048576);
  assert.equal(parseSize("12 parsecs"), undefined);
  assert.equal(parseSize("-5MiB"), undefined);
});

Deno.test("volume size outside 1 MiB .. 5 TiB is a usage error", () => {
  assert.throws(() => volumeSizeOption("0"), UsageError);
  assert.throws(() => volumeSizeOption("10KiB"), UsageError);
  assert.throws(() => volumeSizeOption("6TiB"), UsageError);
  assert.throws(() => volumeSizeOption("lots"), UsageError);
  assert.equal(volumeSizeOption("1MiB"), 1024 * 1024);
});

Deno.test("human-readable figures", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.50 KiB");
  assert.equal(formatBytes(3 * 1024 ** 3), "3.00 GiB");
  assert.equal(formatDuration(42), "42s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(formatDuration(Infinity), "?");
});
