/** `BufferSlots`: what bounds the memory of the backup's part uploads. */
import assert from "node:assert/strict";
import { BufferSlots } from "../../lib/memory/buffer_slots.ts";

Deno.test("BufferSlots holds at most its count, hands slots out first come first served", async () => {
  const slots = new BufferSlots(2);
  const a = await slots.acquire(10);
  const b = await slots.acquire(20);
  assert.equal(a.bytes.length, 10);
  assert.equal(b.bytes.length, 20);
  assert.notEqual(a.bytes.buffer, b.bytes.buffer, "each slot owns its buffer");
  const order: string[] = [];
  const c = slots.acquire(5).then((lease) => (order.push("c"), lease));
  const d = slots.acquire(5).then((lease) => (order.push("d"), lease));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(order, [], "a third holder waits");
  assert.equal(slots.held, 2);
  b.release();
  b.release(); // a second release gives nothing back twice
  const third = await c;
  assert.deepEqual(order, ["c"]);
  assert.equal(third.bytes.buffer, b.bytes.buffer, "the freed slot's buffer is reused");
  assert.equal(slots.held, 2);
  a.release();
  (await d).release();
  third.release();
  assert.equal(slots.held, 0);
  assert.equal(slots.mostHeld, 2);
});

Deno.test("a slot's buffer grows to the largest size asked for and is cut to each size", async () => {
  const slots = new BufferSlots(1);
  const small = await slots.acquire(4);
  small.release();
  const large = await slots.acquire(1000);
  assert.equal(large.bytes.length, 1000);
  large.release();
  const again = await slots.acquire(300);
  assert.equal(again.bytes.length, 300);
  assert.equal(again.bytes.buffer, large.bytes.buffer);
  again.release();
});

Deno.test("a wait for a slot ends when its signal aborts, and the slot goes to the next", async () => {
  const slots = new BufferSlots(1);
  const held = await slots.acquire(1);
  const abort = new AbortController();
  const given = slots.acquire(1, abort.signal);
  const next = slots.acquire(1);
  abort.abort(new Error("stopped"));
  await assert.rejects(given, /stopped/);
  held.release();
  (await next).release();
  await assert.rejects(slots.acquire(1, abort.signal), /stopped/);
  assert.throws(() => new BufferSlots(0), RangeError);
});
