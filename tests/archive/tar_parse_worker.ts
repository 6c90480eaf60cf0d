/**
 * Worker side of `parseInWorker` (tar_test_helpers.ts): reads each archive it is sent with
 * `readTar` and posts one outcome per archive. It runs in a worker so that the test thread can
 * end a parse that never ends, even one spinning in a synchronous loop that no timer can
 * interrupt.
 */
import { readTar } from "../../lib/archive/tar_reader.ts";
import { chunkedStream } from "./tar_test_helpers.ts";
import type { ParseCase, ParseOutcome } from "./tar_test_helpers.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<ParseCase[]>) => void;
  postMessage: (message: ParseOutcome | "ready") => void;
};

scope.onmessage = async ({ data: cases }) => {
  for (const [index, parseCase] of cases.entries()) {
    scope.postMessage({ index, ...await parse(parseCase) });
  }
};
scope.postMessage("ready");

/**
 * Reads one archive the way the case says. Each header takes at least one 512-byte block and
 * no body can hold more than the input, so more entries or body bytes than that is a runaway.
 */
async function parse(parseCase: ParseCase): Promise<Omit<ParseOutcome, "index">> {
  const { bytes, chunkSeed, chunkSizes = [1, 700], bodies } = parseCase;
  let entries = 0;
  let bodyBytes = 0;
  try {
    for await (const { body } of readTar(chunkedStream(bytes, chunkSeed, ...chunkSizes))) {
      entries++;
      if (entries > bytes.length / 512) return { entries, bodyBytes, runaway: "entries" };
      if (bodies === "skip") continue;
      const reader = body.getReader();
      if (bodies === "cancel") {
        await reader.read();
        await reader.cancel();
        continue;
      }
      for (let part = await reader.read(); !part.done; part = await reader.read()) {
        bodyBytes += part.value.length;
        if (bodyBytes > bytes.length) return { entries, bodyBytes, runaway: "body bytes" };
      }
    }
    return { entries, bodyBytes };
  } catch (error) {
    const { name, message } = error instanceof Error
      ? error
      : { name: typeof error, message: String(error) };
    return { entries, bodyBytes, error: { name, message } };
  }
}
