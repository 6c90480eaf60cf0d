/**
 * `BufferRuns`: pieces that follow each other in one buffer make one run, handed out once a piece
 * lies in another buffer (or at the end); a piece elsewhere in the same buffer gets the run
 * copied; a piece of a buffer already handed out and transferred is refused.
 */
import assert from "node:assert/strict";
import { BufferRuns } from "../../lib/archive/buffer_runs.ts";

const bytes = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) % 251);

Deno.test("BufferRuns: adjacent pieces of one buffer are one run, finished by the next buffer", () => {
  const a = bytes(100);
  const b = bytes(50, 7);
  const runs = new BufferRuns();
  assert.deepEqual(runs.push(a.subarray(0, 30)), []);
  assert.deepEqual(runs.push(a.subarray(30, 30)), [], "an empty piece changes nothing");
  assert.deepEqual(runs.push(a.subarray(30, 80)), []);
  const [run] = runs.push(b.subarray(0, 20));
  assert.equal(run.buffer, a.buffer, "the run is a view of its own buffer, not a copy");
  assert.equal(run.byteOffset, 0);
  assert.deepEqual(run, a.subarray(0, 80));
  assert.deepEqual(runs.push(b.subarray(20)), []);
  const [last] = runs.finish();
  assert.equal(last.buffer, b.buffer);
  assert.deepEqual(last, b);
  assert.deepEqual(runs.finish(), []);
});

Deno.test("BufferRuns: a piece elsewhere in the same buffer gets the run copied", () => {
  const a = bytes(100);
  const runs = new BufferRuns();
  runs.push(a.subarray(0, 10));
  const [copy] = runs.push(a.subarray(50, 60));
  assert.notEqual(copy.buffer, a.buffer, "the buffer is not finished: the run is copied");
  assert.deepEqual(copy, a.subarray(0, 10));
  const [rest] = runs.finish();
  assert.equal(rest.buffer, a.buffer);
  assert.deepEqual(rest, a.subarray(50, 60));
});

Deno.test("BufferRuns: a piece of a buffer handed out and transferred is refused", () => {
  const a = bytes(100);
  const b = bytes(100, 3);
  const runs = new BufferRuns();
  runs.push(a.subarray(0, 40));
  const [run] = runs.push(b.subarray(0, 40));
  const piece = a.subarray(40, 80);
  run.buffer.transfer(0); // as the worker does when it sends the run
  assert.throws(() => runs.push(piece), /already handed out/);
});
