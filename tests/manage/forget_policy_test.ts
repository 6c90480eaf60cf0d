/** The keep policy of `glacier forget`: last, daily, monthly, and their union. */
import assert from "node:assert/strict";
import { applyKeepPolicy, keepsNothing } from "../../lib/manage/forget_policy.ts";

// Backups over three months, several on some days, listed out of order.
const IDS = [
  "20260115_090000",
  "20260131_230000",
  "20260201_080000",
  "20260201_200000",
  "20260214_120000",
  "20260301_010000",
  "20260301_020000",
  "20260302_050000",
  "20260115_080000",
];

const kept = (policy: Parameters<typeof applyKeepPolicy>[1]) =>
  applyKeepPolicy(IDS, policy).kept.map((k) => k.backupId);

Deno.test("keep-last keeps the N newest backups, newest first", () => {
  assert.deepEqual(kept({ keepLast: 2 }), ["20260302_050000", "20260301_020000"]);
  assert.deepEqual(kept({ keepLast: 100 }).length, IDS.length);
  assert.deepEqual(kept({ keepLast: 0 }), []);
});

Deno.test("keep-daily keeps the newest backup of each of the N newest days with backups", () => {
  // Days without backups do not count: 3 days reach back to Feb 14.
  assert.deepEqual(kept({ keepDaily: 3 }), [
    "20260302_050000",
    "20260301_020000",
    "20260214_120000",
  ]);
  assert.ok(!kept({ keepDaily: 5 }).includes("20260201_080000"), "one per day: the newest");
  assert.ok(kept({ keepDaily: 5 }).includes("20260201_200000"));
});

Deno.test("keep-monthly keeps the newest backup of each of the N newest months", () => {
  assert.deepEqual(kept({ keepMonthly: 2 }), ["20260302_050000", "20260214_120000"]);
  assert.deepEqual(kept({ keepMonthly: 3 }), [
    "20260302_050000",
    "20260214_120000",
    "20260131_230000",
  ]);
});

Deno.test("the rules add up: a backup kept by any rule is kept, with every reason", () => {
  const verdict = applyKeepPolicy(IDS, { keepLast: 1, keepDaily: 2, keepMonthly: 3 });
  assert.deepEqual(verdict.kept, [
    { backupId: "20260302_050000", reasons: ["last", "daily", "monthly"] },
    { backupId: "20260301_020000", reasons: ["daily"] },
    { backupId: "20260214_120000", reasons: ["monthly"] },
    { backupId: "20260131_230000", reasons: ["monthly"] },
  ]);
  assert.deepEqual(verdict.forgotten, [
    "20260301_010000",
    "20260201_200000",
    "20260201_080000",
    "20260115_090000",
    "20260115_080000",
  ]);
  assert.equal(verdict.kept.length + verdict.forgotten.length, IDS.length);
});

Deno.test("a policy of zeros or nothing keeps nothing", () => {
  assert.ok(keepsNothing({}));
  assert.ok(keepsNothing({ keepLast: 0, keepDaily: 0 }));
  assert.ok(!keepsNothing({ keepMonthly: 1 }));
  assert.deepEqual(applyKeepPolicy(IDS, {}).forgotten.length, IDS.length);
  assert.deepEqual(applyKeepPolicy([], { keepLast: 3 }), { kept: [], forgotten: [] });
});
