/** The `verify --local` progress line: fitted to its width, with the time left of the reading. */
import assert from "node:assert/strict";
import { renderVerifyProgress, VerifyProgress } from "../../lib/verify/progress.ts";

const MiB = 1024 * 1024;

Deno.test("the verify --local progress line fits its width and gives the time left", () => {
  const progress = new VerifyProgress(0);
  progress.volumesTotal = 4;
  progress.bytesTotal = 400 * MiB;
  progress.bytesRead = 100 * MiB;
  progress.volumesChecked = 1;
  const full = renderVerifyProgress(progress, undefined, 10_000);
  assert.match(full, /^\[#+-+\] 25% 100\.0 MiB\/400\.0 MiB, left 30s, read 10\.0 MiB\/s/);
  assert.match(full, /volumes 1\/4 checked/);
  for (let width = 20; width < 200; width++) {
    const line = renderVerifyProgress(progress, width, 10_000);
    assert.ok(line.length <= width, `${line.length} > ${width}: ${line}`);
  }
  progress.bytesRead = progress.bytesTotal;
  assert.match(renderVerifyProgress(progress, undefined, 20_000), /100% .* left 0s/);
});
