/**
 * The window of small-file writes a restore keeps in flight: never more than its size at once,
 * each in its own slot (distinct staging names), and the first failure stops it.
 */
import assert from "node:assert/strict";
import { WriteWindow } from "../../lib/restore/write_window.ts";

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

Deno.test("a write window runs at most its size at once, each write in a slot of its own", async () => {
  const window = new WriteWindow(3);
  const gates = Array.from({ length: 5 }, gate);
  let running = 0;
  let most = 0;
  const slotsInUse = new Set<number>();
  const started: number[] = [];
  const starting = (async () => {
    for (let i = 0; i < 5; i++) {
      await window.start(async (slot) => {
        assert.ok(!slotsInUse.has(slot), `slot ${slot} is used by one write at a time`);
        slotsInUse.add(slot);
        started.push(i);
        most = Math.max(most, ++running);
        await gates[i].opened;
        running--;
        slotsInUse.delete(slot);
      });
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(started, [0, 1, 2], "the fourth write waits for a free slot");
  gates[1].open();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(started, [0, 1, 2, 3]);
  for (const g of gates) g.open();
  await starting;
  await window.drain();
  assert.equal(most, 3);
  assert.equal(running, 0, "drain waits for every write");
});

Deno.test("a write window stops at the first failure and waits for the writes in flight", async () => {
  const window = new WriteWindow(2);
  const slow = gate();
  let slowDone = false;
  await window.start(async () => {
    await slow.opened;
    slowDone = true;
  });
  await window.start(() => Promise.reject(new Error("disk full")));
  await new Promise((resolve) => setTimeout(resolve, 10));
  await assert.rejects(window.start(() => Promise.resolve()), /disk full/);
  const draining = window.drain();
  setTimeout(slow.open, 10);
  await assert.rejects(draining, /disk full/);
  assert.ok(slowDone, "the failure is reported once the other write is through");
});
