/** Asking the person at the terminal before something that cannot be undone. */
import { UsageError } from "../archive/errors.ts";

/** Where the question is asked; the real terminal by default (tests pass their own). */
export interface Prompter {
  /** True when someone can answer (stdin is a terminal). */
  interactive(): boolean;
  /** Shows `question` and resolves to the line typed (without the newline; "" at end of input). */
  ask(question: string): Promise<string>;
}

/** Asks on stderr and reads the answer from stdin. */
export const terminalPrompter: Prompter = {
  interactive: () => Deno.stdin.isTerminal(),
  async ask(question: string): Promise<string> {
    Deno.stderr.writeSync(new TextEncoder().encode(question));
    return await readLine(Deno.stdin.readable);
  },
};

/**
 * Resolves to true when the user answers yes to `question`. Without a terminal to ask on it
 * throws a `UsageError` telling to pass `yesOption`.
 */
export async function confirm(
  question: string,
  yesOption: string,
  prompter: Prompter = terminalPrompter,
): Promise<boolean> {
  if (!prompter.interactive()) {
    throw new UsageError(
      `refusing to go on without confirmation: standard input is not a terminal (use ${yesOption})`,
    );
  }
  const answer = await prompter.ask(`${question} [y/N] `);
  return /^\s*y(es)?\s*$/i.test(answer);
}

/** The first line of `stream` (up to 4 KiB); releases the stream afterwards. */
async function readLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (!text.includes("\n") && text.length < 4096) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return text.split("\n")[0].replace(/\r$/, "");
}
