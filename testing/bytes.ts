/** Byte-array helpers shared by tests and benchmarks. */

/** Concatenates byte arrays into one new array. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A stand-in for stdin (`Deno.stdin.read`) that yields `text` a byte at a time, then its end. */
export function typedInput(text: string): { read(buffer: Uint8Array): Promise<number | null> } {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return {
    read: (buffer) => {
      if (at >= bytes.length) return Promise.resolve(null);
      buffer[0] = bytes[at++];
      return Promise.resolve(1);
    },
  };
}
