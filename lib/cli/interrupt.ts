/**
 * The user's Ctrl-C (and SIGTERM) while a command runs, as an abort signal for the use case: the
 * first one aborts `signal` (the run stops cleanly), a second one resolves `again` (for runs that
 * may then end at once, without waiting for requests in flight).
 */

/** The interrupts of one command run; `stop()` gives the signals back to the default handler. */
export interface Interrupts {
  /** Aborts at the first interrupt. */
  readonly signal: AbortSignal;
  /** Resolves at the second interrupt. */
  readonly again: Promise<void>;
  /** Stops listening. */
  stop(): void;
}

/** Starts listening for SIGINT (and SIGTERM, where there is one). */
export function listenForInterrupts(): Interrupts {
  const first = new AbortController();
  let insist = () => {};
  const again = new Promise<void>((resolve) => insist = resolve);
  const onSignal = () => {
    if (first.signal.aborted) insist();
    else first.abort(new DOMException("interrupted", "AbortError"));
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  return {
    signal: first.signal,
    again,
    stop: () => {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    },
  };
}
