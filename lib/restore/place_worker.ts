/**
 * Worker side of `SmallFilePlacer` (small_file_placer.ts): writes batches of small files to their
 * part files and gives them their names with a `PartPlacer`, as the restore's own thread would,
 * and answers each batch with one outcome (or error, by name, message and code) per file.
 */
import { PartPlacer } from "./part_placer.ts";
import type { PlaceReply, PlaceRequest } from "./small_file_placer.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<PlaceRequest>) => void;
  postMessage: (message: PlaceReply, transfer?: ArrayBuffer[]) => void;
};

let placer: PartPlacer | undefined;

scope.onmessage = ({ data }) => {
  if (data.type === "init") {
    placer = new PartPlacer(data.settings);
    return;
  }
  const outcomes: PlaceReply["outcomes"] = [];
  for (const job of data.jobs) {
    try {
      const body = data.bytes.subarray(job.start, job.end);
      placer!.writeSync(job.part, body, job.meta);
      outcomes.push(placer!.placePart(job.part, job.placement, job.meta));
    } catch (error) {
      // As worker_errors.ts's postedError posts it (that module would load more than this needs).
      const { name, message, code } = error as Error & { code?: unknown };
      outcomes.push({
        kind: "error",
        error: {
          name: typeof name === "string" ? name : "Error",
          message: typeof message === "string" ? message : String(error),
          code: typeof code === "string" ? code : undefined,
        },
      });
    }
  }
  // The batch's buffer goes back to be filled again (no new megabyte a batch for the collector).
  scope.postMessage({ type: "placed", outcomes, bytes: data.bytes }, [data.bytes.buffer]);
};
