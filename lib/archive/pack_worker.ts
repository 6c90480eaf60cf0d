/**
 * Worker side of `volumeTarOnTwoThreads`: packs the runs of records the main thread hands it, one
 * after another, with a `RunPacker`, and posts back each run's TAR bytes (transferred, not
 * copied) with the content hashes, outcomes and totals found since its last message. It asks for
 * a run for each one it takes, and sends a batch only when the main thread has granted room.
 */
import { hashColumns } from "./pack_messages.ts";
import { packRecordsOf } from "./file_columns.ts";
import { postedError } from "./worker_errors.ts";
import { type PackRecord, RunPacker } from "./volume_tar.ts";
import type { FromPackWorker, ToPackWorker } from "./volume_tar_worker.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<ToPackWorker>) => void;
  postMessage: (message: FromPackWorker, transfer?: ArrayBuffer[]) => void;
};

/** Runs received and not yet packed. */
const runs: { index: number; records: PackRecord[] }[] = [];
/** The main thread's packing: files with several links it packed, and how far it has got. */
const packer = new RunPacker();
let mainDoneBelow = 0;
/** Batches the main thread has room for. */
let credit = 0;
/** Who waits for the next message (for runs or for credit); each checks again on waking. */
let waiting: (() => void)[] = [];

function wakeUp(): void {
  const woken = waiting;
  waiting = [];
  for (const resolve of woken) resolve();
}

function waitForMessage(): Promise<void> {
  return new Promise((resolve) => waiting.push(resolve));
}

async function run(): Promise<void> {
  const { results } = packer;
  const report = () => ({
    hashes: hashColumns(results.hashes.splice(0)),
    updates: results.updates.splice(0),
    totals: { ...results.totals },
  });
  for (;;) {
    const next = runs.shift();
    if (!next) {
      // The main thread ends this worker once the last run's bytes are in.
      await waitForMessage();
      continue;
    }
    // Each run taken makes room for one more: it is read while this one is packed.
    scope.postMessage({ kind: "need" });
    // A hardlink may link to a first name the main thread packs in an earlier run: wait for it.
    if (next.records.some((record) => record.type === "hardlink")) {
      while (mainDoneBelow < next.index) await waitForMessage();
    }
    for (const bytes of packer.pack(next.records)) {
      while (credit === 0) await waitForMessage();
      credit--;
      // A whole buffer of its own (see `RunPacker.pack`): transferred, nothing else goes along.
      const found = report();
      scope.postMessage({ kind: "batch", run: next.index, bytes, ...found }, [
        bytes.buffer as ArrayBuffer,
        found.hashes.ids.buffer,
      ]);
    }
    const found = report();
    scope.postMessage({ kind: "run-end", run: next.index, ...found }, [found.hashes.ids.buffer]);
  }
}

scope.onmessage = ({ data }) => {
  switch (data.kind) {
    case "start":
      credit += data.credit;
      run().catch((error) => scope.postMessage({ kind: "error", ...postedError(error) }));
      break;
    case "run":
      runs.push({ index: data.index, records: packRecordsOf(data.records) });
      mainDoneBelow = Math.max(mainDoneBelow, data.hereDoneBelow);
      wakeUp();
      break;
    case "links":
      packer.addLinks(data.links);
      mainDoneBelow = Math.max(mainDoneBelow, data.hereDoneBelow);
      wakeUp();
      break;
    case "credit":
      credit += data.batches;
      wakeUp();
      break;
  }
};
