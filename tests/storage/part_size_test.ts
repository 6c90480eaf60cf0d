/** The multipart part-size rule that uploads and the dry-run forecast share. */
import assert from "node:assert/strict";
import { DEFAULT_PART_SIZE, partCount, partSizeFor } from "../../lib/storage/part_size.ts";

const MiB = 1024 * 1024;

Deno.test("parts are 16 MiB up to 10,000 of them, then grow in whole MiB", () => {
  assert.equal(DEFAULT_PART_SIZE, 16 * MiB);
  assert.equal(partSizeFor(0), 16 * MiB);
  assert.equal(partSizeFor(10_000 * 16 * MiB), 16 * MiB);
  assert.equal(partSizeFor(10_000 * 16 * MiB + 1), 17 * MiB);
  assert.ok(partCount(1e12) <= 10_000);
});

Deno.test("an object takes at least one part, and a last short part counts", () => {
  assert.equal(partCount(0), 1);
  assert.equal(partCount(16 * MiB), 1);
  assert.equal(partCount(16 * MiB + 1), 2);
  assert.equal(partCount(100, 30), 4);
});
