/** The backup progress line: fitted to the terminal's width, with a bar, rates and a time left. */

import assert from "node:assert/strict";
import { BackupProgress, renderProgress, uploadRate } from "../../lib/backup/progress.ts";

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
    builtBytes: 50 * MiB,
    uploadedBytes: 20 * MiB,
  });
  progress.uploadStarting(progress.startedAt);
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

Deno.test("parts of a volume not yet whole count towards the upload rate and the time left", () => {
  const progress = new BackupProgress();
  Object.assign(progress, {
    phase: "packing",
    bytesTotal: 4096 * MiB,
    bytesDone: 2048 * MiB,
    volumesTotal: 4,
    volumesBuilt: 2,
    builtBytes: 2048 * MiB,
  });
  // The first upload starts 60 s in; 60 s later 3 parts of 64 MiB of its first volume are stored.
  progress.uploadStarting(progress.startedAt + 60_000);
  progress.uploadedBytes = 3 * 64 * MiB;
  const now = progress.startedAt + 120_000;
  assert.equal(uploadRate(progress, now), (3 * 64 * MiB) / 60);
  const line = renderProgress(progress, 200, now);
  assert.match(line, /upload 3\.20 MiB\/s/);
  // 4 GiB expected, 192 MiB stored: 3904 MiB at 3.2 MiB/s = 1220 s; packing needs only 120 s.
  assert.match(line, /left 20m20s/);
});

Deno.test("bytes an earlier run stored do not count towards this run's upload rate", () => {
  const progress = new BackupProgress();
  Object.assign(progress, {
    phase: "uploading",
    bytesTotal: 200 * MiB,
    bytesDone: 200 * MiB,
    volumesTotal: 2,
    volumesBuilt: 2,
    volumesUploaded: 1,
    builtBytes: 200 * MiB,
    uploadedBytes: 100 * MiB + 10 * MiB,
    uploadedBefore: 100 * MiB,
  });
  assert.equal(uploadRate(progress, progress.startedAt + 10_000), 0, "no upload started yet");
  progress.uploadStarting(progress.startedAt);
  progress.uploadStarting(progress.startedAt + 5_000); // a later upload keeps the first start
  const now = progress.startedAt + 10_000;
  assert.equal(uploadRate(progress, now), MiB);
  assert.match(renderProgress(progress, 200, now), /left 1m30s/);
});
