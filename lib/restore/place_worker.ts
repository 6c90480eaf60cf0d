/**
 * Worker side of `SmallFilePlacer` (small_file_placer.ts): writes batches of small files with a
 * `PartPlacer`, in place in folders this run made (the sender named them in the run's journal
 * first), else to part files given their names as the restore's own thread would, and answers
 * each batch with one outcome (or error, by name, message and code) per file.
 */
import { type PartMeta, PartPlacer } from "./part_placer.ts";
import type { WriteOutcome } from "./safe_writer.ts";
import {
  BLOCKED,
  CHECKED,
  EXISTS,
  FAILED,
  FRESH,
  JOB_FIELDS,
  type PlaceReply,
  type PlaceRequest,
  WRITTEN,
} from "./small_file_placer.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<PlaceRequest>) => void;
  postMessage: (message: PlaceReply, transfer?: ArrayBuffer[]) => void;
};

let placer: PartPlacer | undefined;
const WRITTEN_OUTCOME: WriteOutcome = { kind: "written" };

scope.onmessage = ({ data }) => {
  if (data.type === "init") {
    placer = new PartPlacer(data.settings);
    return;
  }
  const parts = data.parts.split("\0");
  const fulls = data.fulls.split("\0");
  const numbers = data.numbers;
  const codes = new Uint8Array(parts.length);
  const details: PlaceReply["details"] = [];
  for (let i = 0; i < parts.length; i++) {
    const at = i * JOB_FIELDS;
    const meta: PartMeta = { mode: numbers[at], mtime: numbers[at + 1] };
    if (numbers[at + 2] === 1) meta.owner = { uid: numbers[at + 3], gid: numbers[at + 4] };
    const flags = numbers[at + 5];
    const placement = {
      full: fulls[i],
      checked: (flags & CHECKED) !== 0,
      fresh: (flags & FRESH) !== 0,
    };
    try {
      const body = data.bytes.subarray(numbers[at + 6], numbers[at + 7]);
      let outcome: WriteOutcome = WRITTEN_OUTCOME;
      if (!placer!.writeInPlaceSync(placement, body, meta)) {
        placer!.writeSync(parts[i], body, meta);
        outcome = placer!.placePart(parts[i], placement, meta);
      }
      if (outcome.kind === "written") codes[i] = WRITTEN;
      else if (outcome.kind === "exists") codes[i] = EXISTS;
      else if (outcome.kind === "blocked") {
        codes[i] = BLOCKED;
        details.push([i, outcome.reason]);
      } else {
        throw new Error(`unexpected outcome ${outcome.kind} placing ${fulls[i]}`);
      }
    } catch (error) {
      // As worker_errors.ts's postedError posts it (that module would load more than this needs).
      const { name, message, code } = error as Error & { code?: unknown };
      codes[i] = FAILED;
      details.push([i, {
        name: typeof name === "string" ? name : "Error",
        message: typeof message === "string" ? message : String(error),
        code: typeof code === "string" ? code : undefined,
      }]);
    }
  }
  // The batch's buffer goes back to be filled again (no new megabyte a batch for the collector).
  scope.postMessage({ type: "placed", codes, details, bytes: data.bytes }, [
    codes.buffer,
    data.bytes.buffer,
  ]);
};
