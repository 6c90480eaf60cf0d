/**
 * A batch of small files to place (small_file_placer.ts): how it is packed to cross to the
 * placing worker (place_worker.ts) and back, and how it is placed, with a `PartPlacer`, on that
 * worker or, when the worker is behind, on the restore's own thread: each file in place where
 * `PartPlacer.writeInPlaceSync` may (the sender named it in the run's journal first), else to a
 * part file given its name as the restore's own thread would.
 */
import type { PartMeta, PartPlacer, Placement, PlacerSettings } from "./part_placer.ts";
import type { PostedError } from "../archive/worker_errors.ts";
import type { WriteOutcome } from "./safe_writer.ts";

/** What the worker is sent. */
export type PlaceRequest =
  | {
    type: "init";
    settings: PlacerSettings;
    /** How the worker's part files are named (see `PartPlacer`). */
    partPrefix: string;
    /** One counter the worker adds 1 to as it finishes each batch, read without waiting. */
    placed: Int32Array<SharedArrayBuffer>;
  }
  | PlaceBatch;

/**
 * A batch of files, packed for a cheap crossing (a few strings and arrays, not an object a
 * file): final paths joined by NUL (which no path holds), and per file the numbers of
 * `JOB_FIELDS`; the files' content lies in `bytes` at [start, end).
 */
export interface PlaceBatch {
  type: "place";
  fulls: string;
  numbers: Float64Array<ArrayBuffer>;
  bytes: Uint8Array<ArrayBuffer>;
}

/** The numbers of one file in `PlaceBatch.numbers`, in this order. */
export const JOB_FIELDS = 8;
/** `flags` bits: what is at the name was checked already; the folder was made by this run. */
export const CHECKED = 1, FRESH = 2;

/** Outcome codes of `PlaceReply.codes`. */
export const WRITTEN = 0, EXISTS = 1, BLOCKED = 2, FAILED = 3;

/**
 * What the worker answers a batch with: one code per file, in order, and for a blocked file its
 * reason, for a failed one its error (index -> detail); the batch's buffer, to fill again.
 */
export interface PlaceReply {
  type: "placed";
  codes: Uint8Array<ArrayBuffer>;
  details: [number, string | PostedError][];
  bytes: Uint8Array<ArrayBuffer>;
}

/** Packs one file's numbers into `numbers` at file `index`. */
export function packJob(
  numbers: Float64Array,
  index: number,
  placement: Placement,
  meta: PartMeta,
  start: number,
  end: number,
): void {
  const at = index * JOB_FIELDS;
  numbers[at] = meta.mode;
  numbers[at + 1] = meta.mtime;
  numbers[at + 2] = meta.owner ? 1 : 0;
  numbers[at + 3] = meta.owner?.uid ?? 0;
  numbers[at + 4] = meta.owner?.gid ?? 0;
  numbers[at + 5] = (placement.checked ? CHECKED : 0) | (placement.fresh ? FRESH : 0);
  numbers[at + 6] = start;
  numbers[at + 7] = end;
}

/** What became of a batch's files: `PlaceReply`'s codes and details. */
export interface BatchOutcome {
  codes: Uint8Array<ArrayBuffer>;
  details: [number, string | PostedError][];
}

const WRITTEN_OUTCOME: WriteOutcome = { kind: "written" };

/**
 * Places a batch's files (`fulls` and `numbers` as in `PlaceBatch`, content in `bytes`) with
 * `placer`, one after the other; an error keeps only its own file out.
 */
export function placeBatch(
  placer: PartPlacer,
  fulls: string[],
  numbers: Float64Array,
  bytes: Uint8Array,
): BatchOutcome {
  const codes = new Uint8Array(fulls.length);
  const details: BatchOutcome["details"] = [];
  for (let i = 0; i < fulls.length; i++) {
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
      const body = bytes.subarray(numbers[at + 6], numbers[at + 7]);
      let outcome: WriteOutcome = WRITTEN_OUTCOME;
      if (!placer.writeInPlaceSync(placement, body, meta)) {
        const part = placer.newPart();
        placer.writeSync(part, body, meta);
        outcome = placer.placePart(part, placement, meta);
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
  return { codes, details };
}
