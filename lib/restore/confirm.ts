/** Asking the person at the terminal before money is spent. */

/** Asks `question` on stderr and reads one line from stdin; true for "y" or "yes". */
export async function askYesNo(question: string): Promise<boolean> {
  Deno.stderr.writeSync(new TextEncoder().encode(`${question} [y/N] `));
  const answer = await readLine(Deno.stdin);
  return /^\s*y(es)?\s*$/i.test(answer ?? "");
}

/** Reads up to the first newline (or the end of input); `undefined` at once-empty input. */
async function readLine(input: { read(buffer: Uint8Array): Promise<number | null> }) {
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
