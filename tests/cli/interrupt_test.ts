/**
 * The one Ctrl-C helper every command uses (lib/cli/interrupt.ts), with real signals. SIGTERM
 * stands in for SIGINT (the same listener takes both): `deno test` keeps SIGINT for itself.
 */
import assert from "node:assert/strict";
import { listenForInterrupts } from "../../lib/cli/interrupt.ts";
import { skipOnWindows, where } from "../../testing/platform.ts";

/** Resolves once the event loop has had a turn (signal listeners run from it). */
const aTurn = () => new Promise((resolve) => setTimeout(resolve, 50));

Deno.test(where(skipOnWindows("Deno.kill cannot send SIGTERM to a process there"), {
  name: "the first interrupt aborts the signal, the second resolves 'again'",
  fn: async () => {
    const interrupts = listenForInterrupts();
    try {
      let again = false;
      interrupts.again.then(() => again = true);
      Deno.kill(Deno.pid, "SIGTERM");
      await aTurn();
      assert.equal(interrupts.signal.aborted, true);
      assert.equal((interrupts.signal.reason as DOMException).name, "AbortError");
      assert.equal(again, false);
      Deno.kill(Deno.pid, "SIGTERM");
      await aTurn();
      assert.equal(again, true);
    } finally {
      interrupts.stop();
    }
  },
}));

Deno.test(where(skipOnWindows("Deno.kill cannot send SIGTERM to a process there"), {
  name: "after stop() the listeners are gone: another helper hears the next interrupt alone",
  fn: async () => {
    const first = listenForInterrupts();
    first.stop();
    const second = listenForInterrupts();
    try {
      Deno.kill(Deno.pid, "SIGTERM");
      await aTurn();
      assert.equal(second.signal.aborted, true);
      assert.equal(first.signal.aborted, false);
    } finally {
      second.stop();
    }
  },
}));
