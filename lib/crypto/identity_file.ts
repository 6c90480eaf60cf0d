/** Identity files as age-keygen writes them. */

import { AgeError } from "./errors.ts";
import { parseX25519Identity } from "./x25519.ts";

/**
 * Parses an identity file's text: '#' comments, blank lines, and one AGE-SECRET-KEY-1... per line.
 * Returns the identities; throws AgeError if there are none or a line is malformed.
 */
export function parseIdentityFile(text: string): string[] {
  const identities: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const where = `line ${index + 1} of the identity file`;
    if (line.startsWith("AGE-PLUGIN-")) {
      throw new AgeError(`plugin identities are not supported (${where})`);
    }
    if (line.startsWith("AGE-SECRET-KEY-PQ-")) {
      throw new AgeError(`post-quantum identities are not supported (${where})`);
    }
    if (line.startsWith("-----BEGIN")) {
      throw new AgeError(`SSH and PEM keys are not supported (${where})`);
    }
    try {
      parseX25519Identity(line);
    } catch (error) {
      if (error instanceof AgeError) throw new AgeError(`${error.message} (${where})`);
      throw error;
    }
    identities.push(line);
  }
  if (identities.length === 0) throw new AgeError("no identities found in the identity file");
  return identities;
}
