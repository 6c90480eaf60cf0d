/**
 * Worker side of `SmallFilePlacer` (small_file_placer.ts): places each batch of small files it
 * is sent (place_batch.ts) and answers with one outcome (or error, by name, message and code) per
 * file, and the batch's buffer.
 */
import { PartPlacer } from "./part_placer.ts";
import { placeBatch, type PlaceReply, type PlaceRequest } from "./place_batch.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<PlaceRequest>) => void;
  postMessage: (message: PlaceReply, transfer?: ArrayBuffer[]) => void;
};

let placer: PartPlacer | undefined;
let placed: Int32Array<SharedArrayBuffer> | undefined;

scope.onmessage = ({ data }) => {
  if (data.type === "init") {
    placer = new PartPlacer(data.settings, data.partPrefix);
    placed = data.placed;
    return;
  }
  const { codes, details } = placeBatch(
    placer!,
    data.fulls.split("\0"),
    data.numbers,
    data.bytes,
  );
  // Seen at once by the sender, which may be too busy to read answers (small_file_placer.ts).
  Atomics.add(placed!, 0, 1);
  // The batch's buffer goes back to be filled again (no new megabyte a batch for the collector).
  scope.postMessage({ type: "placed", codes, details, bytes: data.bytes }, [
    codes.buffer,
    data.bytes.buffer,
  ]);
};
