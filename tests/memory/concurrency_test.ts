/** The concurrency primitives of the pipelines (lib/memory/concurrency.ts). */
import assert from "node:assert/strict";
import { mapLimit, Slots, WorkQueue } from "../../lib/memory/concurrency.ts";

Deno.test("mapLimit keeps item order and never runs more than the limit at once", async () => {
  let running = 0;
  let most = 0;
  const results = await mapLimit([30, 5, 20, 1, 10, 0], 2, async (ms) => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, ms));
    running--;
    return ms * 2;
  });
  assert.deepEqual(results, [60, 10, 40, 2, 20, 0]);
  assert.equal(most, 2);
  assert.deepEqual(await mapLimit([], 4, () => Promise.resolve(1)), []);
});

Deno.test("mapLimit fails with the first error of a call", async () => {
  await assert.rejects(
    mapLimit([1, 2, 3], 2, (n) => n === 2 ? Promise.reject(new Error("two")) : Promise.resolve(n)),
    /two/,
  );
});

Deno.test("a work queue hands items out in order and ends once closed and drained", async () => {
  const queue = new WorkQueue<number>();
  const waiting = queue.next();
  queue.push(1);
  queue.push(2);
  queue.push(3);
  assert.equal(await waiting, 1, "a waiting consumer gets the first item");
  queue.close();
  assert.equal(await queue.next(), 2);
  assert.equal(await queue.next(), 3);
  assert.equal(await queue.next(), undefined);
  const blocked = new WorkQueue<number>();
  const consumer = blocked.next();
  blocked.close();
  assert.equal(await consumer, undefined, "closing wakes consumers");
});

Deno.test("slots are handed back oldest waiter first; an abort leaves the queue of waiters", async () => {
  const slots = new Slots(1);
  await slots.acquire();
  const order: string[] = [];
  const first = slots.acquire().then(() => order.push("first"));
  const abort = new AbortController();
  const aborted = slots.acquire(abort.signal);
  const third = slots.acquire().then(() => order.push("third"));
  abort.abort(new Error("stop"));
  await assert.rejects(aborted, /stop/);
  slots.release();
  await first;
  slots.release();
  await third;
  assert.deepEqual(order, ["first", "third"], "the aborted waiter took no slot");
  const done = new AbortController();
  done.abort(new Error("already"));
  assert.throws(
    () => slots.acquire(done.signal),
    /already/,
    "an aborted signal is refused at once",
  );
});
