/** The backup progress line: fitted to the terminal's width, with a bar, rates and a time left. */

import assert from "node:assert/strict";
import { BackupProgress, renderProgress } from "../../lib/backup/progress.ts";

const MiB = 1024 * 1024;

/** A backup 60 s in: half of 100 MiB packed, 2 of 10 volumes (20 MiB) uploaded. */
function midway(): { progress: BackupProgress; now: number } {
  const progress = new BackupProgress();
  Object.assign(progress, {
    phase: "packing",
    filesTotal: 1000,
    filesDone: 500,
    bytesTotal: 100 * MiB,
    bytesDone: 50 * MiB,
    volumesTotal: 10,
    volumesBuilt: 5,
    volumesUploaded: 2,
    uploadedBytes: 20 * MiB,
  });
  return { progress, now: progress.startedAt + 60_000 };
}

Deno.test("the progress line never exceeds the width it is given", () => {
  const { progress, now } = midway();
  for (const width of [20, 40, 79, 80, 120, 199]) {
    const line = renderProgress(progress, width, now);
    assert.ok(line.length <= width, `${line.length} > ${width}: ${line}`);
    if (width >= 40) assert.match(line, /^\[#+-+\] 50% /);
  }
  const wide = renderProgress(progress, 199, now);
  assert.match(wide, /pack 853\.3 KiB\/s/);
  assert.match(wide, /upload 341\.3 KiB\/s/);
  assert.match(wide, /volumes 2\/10 up/);
});

Deno.test("the time left covers the upload, not only packing", () => {
  const { progress, now } = midway();
  // Packing: 50 MiB left at 50 MiB/min = 1 min; upload: 8 volumes of 10 MiB at 20 MiB/min = 4 min.
  assert.match(renderProgress(progress, 200, now), /left 4m00s/);
  progress.bytesDone = progress.bytesTotal;
  progress.phase = "uploading";
  assert.match(renderProgress(progress, 200, now), /100%.*left 4m00s/);
});
