/** The restore progress line: fitted to the width it is given, with a bar, a rate and a time left. */

import assert from "node:assert/strict";
import { renderRestoreProgress, RestoreProgress } from "../../lib/restore/progress.ts";

const MiB = 1024 * 1024;

Deno.test("the restore progress line fits its width and gives the time left of the download", () => {
  const progress = new RestoreProgress();
  assert.equal(renderRestoreProgress(progress, 80), "preparing the restore");
  let started = false;
  progress.onFetchStart = () => started = true;
  progress.fetching(10, 100 * MiB, 0);
  assert.ok(started, "a display is told when fetching begins");
  Object.assign(progress, { downloadedBytes: 25 * MiB, volumesDone: 2, extractedBytes: 30 * MiB });
  const now = 10_000; // 25 MiB in 10 s: 75 MiB left at 2.5 MiB/s
  for (const width of [20, 40, 79, 199]) {
    const line = renderRestoreProgress(progress, width, now);
    assert.ok(line.length <= width, `${line.length} > ${width}: ${line}`);
    if (width >= 40) assert.match(line, /^\[#+-+\] 25% /);
  }
  const wide = renderRestoreProgress(progress, 199, now);
  assert.match(wide, /25\.0 MiB\/100\.0 MiB, left 30s, download 2\.50 MiB\/s/);
  assert.match(wide, /volumes 2\/10 extracted, written 30\.0 MiB/);
});
