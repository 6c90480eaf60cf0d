/**
 * Asking the person at the terminal before something that costs money or cannot be undone. Flows
 * take the question as a callback (`Confirm`), absent when there is no terminal to ask on.
 */

/** Something lines can be read from, like `Deno.stdin`. */
export interface LineSource {
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Where the question goes and the answer comes from, and what stops the wait. */
export interface AskOptions {
  /** Aborting it (Ctrl-C) rejects the question with the signal's reason. */
  signal?: AbortSignal;
  /** Default: `Deno.stdin`. */
  input?: LineSource;
  /** Default: `Deno.stderr`. */
  output?: { writeSync(bytes: Uint8Array): number };
}

/** Asks a yes/no question; resolves to true for yes. */
export type Confirm = (question: string) => Promise<boolean>;

/**
 * The confirmation of this terminal: `askYesNo` on stdin and stderr, stopped by `signal`; undefined
 * when stdin is not a terminal (nobody could answer).
 */
export function terminalConfirm(signal?: AbortSignal): Confirm | undefined {
  return Deno.stdin.isTerminal() ? (question) => askYesNo(question, { signal }) : undefined;
}

/**
 * Asks `question` on stderr and reads one line from stdin; true for "y" or "yes". Rejects with
 * the abort reason as soon as `options.signal` aborts, answered or not.
 */
export async function askYesNo(question: string, options: AskOptions = {}): Promise<boolean> {
  const { signal } = options;
  signal?.throwIfAborted();
  (options.output ?? Deno.stderr).writeSync(new TextEncoder().encode(`${question} [y/N] `));
  const answer = await abortable(readLine(options.input ?? Deno.stdin), signal);
  return /^\s*y(es)?\s*$/i.test(answer ?? "");
}

/** `promise`, or a rejection with the abort reason as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Reads up to the first newline (or the end of input); `undefined` at once-empty input. */
async function readLine(input: LineSource) {
  const bytes: number[] = [];
  const buffer = new Uint8Array(1);
  for (;;) {
    const read = await input.read(buffer);
    if (read === null) return bytes.length === 0 ? undefined : decode(bytes);
    if (read === 0) continue;
    if (buffer[0] === 0x0a) return decode(bytes);
    bytes.push(buffer[0]);
    if (bytes.length > 1024) return decode(bytes);
  }
}

function decode(bytes: number[]): string {
  return new TextDecoder().decode(new Uint8Array(bytes));
}
