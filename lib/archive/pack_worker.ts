/**
 * Worker side of `volumeTarOnWorker`: runs `volumeTar` over the records the main thread posts a
 * page at a time, and posts back each TAR batch (transferred, not copied) with the content
 * hashes, outcomes and totals found since the last one. It asks for a page of records for each
 * one it takes, and sends a batch only when the main thread has granted room for one.
 */
import { hashColumns, recordsOf } from "./pack_messages.ts";
import { postedError } from "./worker_errors.ts";
import { type PackRecord, volumeTar } from "./volume_tar.ts";
import type { FromPackWorker, ToPackWorker } from "./volume_tar_worker.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<ToPackWorker>) => void;
  postMessage: (message: FromPackWorker, transfer?: ArrayBuffer[]) => void;
};

/** Pages of records received and not yet packed. */
const pages: PackRecord[][] = [];
let lastPage = false;
/** Batches the main thread has room for. */
let credit = 0;
/** Who waits for the next message (for records or for credit); each checks again on waking. */
let waiting: (() => void)[] = [];

function wakeUp(): void {
  const woken = waiting;
  waiting = [];
  for (const resolve of woken) resolve();
}

function waitForMessage(): Promise<void> {
  return new Promise((resolve) => waiting.push(resolve));
}

async function* recordPages(): AsyncGenerator<PackRecord[]> {
  for (;;) {
    const page = pages.shift();
    if (page) {
      // Each page taken makes room for one more: it is read while this one is packed.
      if (!lastPage) scope.postMessage({ kind: "need" });
      yield page;
      continue;
    }
    if (lastPage) return;
    await waitForMessage();
  }
}

async function run(start: Extract<ToPackWorker, { kind: "start" }>): Promise<void> {
  const tar = volumeTar({
    preamble: start.preamble,
    ancestors: start.ancestors,
    files: recordPages(),
  });
  const report = () => ({
    hashes: hashColumns(tar.hashes.splice(0)),
    updates: tar.updates.splice(0),
    totals: { ...tar.totals },
  });
  for await (const bytes of tar.stream) {
    while (credit === 0) await waitForMessage();
    credit--;
    const batch = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? bytes
      : bytes.slice();
    const found = report();
    scope.postMessage({ kind: "batch", bytes: batch, ...found }, [
      batch.buffer as ArrayBuffer,
      found.hashes.ids.buffer,
    ]);
  }
  scope.postMessage({ kind: "end", ...report() });
}

scope.onmessage = ({ data }) => {
  switch (data.kind) {
    case "start":
      credit += data.credit;
      run(data).catch((error) => scope.postMessage({ kind: "error", ...postedError(error) }));
      break;
    case "records":
      if (data.records.count > 0) pages.push(recordsOf(data.records));
      if (data.last) lastPage = true;
      wakeUp();
      break;
    case "credit":
      credit += data.batches;
      wakeUp();
      break;
  }
};
