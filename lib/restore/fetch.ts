/**
 * The wait and fetch steps of a restore, which overlap: volumes readable now are downloaded,
 * checked, decrypted and extracted a few at a time, and each thawing volume joins them as soon as
 * its thaw is done. A volume that fails is reported and counted; any other error stops the run.
 */
import type { Reporter } from "../archive/report.ts";
import { quotePath } from "../archive/quote_path.ts";
import { WorkQueue } from "../memory/concurrency.ts";
import type { VolumePlan } from "./plan.ts";
import { isVolumeFailure, restoreVolume, type VolumeRestoreContext } from "./restore_volume.ts";
import type { RestoreTally } from "./tally.ts";
import { type ThawingVolume, type ThawWait, waitForThaws } from "./wait_thaw.ts";

/** What the fetch step works with. */
export interface FetchVolumes {
  /** Readable now. */
  ready: VolumePlan[];
  /** Being thawed: fetched once readable. */
  thawing: ThawingVolume[];
  /** How to wait for thaws (without the callbacks, which the step supplies). */
  wait: Omit<ThawWait, "onReady" | "onGone" | "signal">;
  /** How to restore one volume (without the signal and the problem sink). */
  volume: Omit<VolumeRestoreContext, "signal" | "onProblem">;
  /** Volumes downloaded and extracted at once. */
  workers: number;
  log: Reporter;
  /** The user's interrupt. */
  signal: AbortSignal;
}

/** Waits for the thawing volumes and restores every volume; rejects when the run must stop. */
export async function fetchVolumes(step: FetchVolumes, tally: RestoreTally): Promise<void> {
  const queue = new WorkQueue<VolumePlan>();
  for (const v of step.ready) queue.push(v);
  const failure = new AbortController();
  const signal = AbortSignal.any([step.signal, failure.signal]);
  const waiter = waitForThaws(step.thawing, {
    ...step.wait,
    signal,
    onReady: (v) => queue.push(v),
    onGone: (v) => tally.absent(v),
  }).finally(() => queue.close());
  const context: VolumeRestoreContext = {
    ...step.volume,
    signal,
    onProblem: (problem) => tally.problem(problem),
  };
  const workers = Array.from({ length: Math.max(1, step.workers) }, async () => {
    for (let v = await queue.next(); v; v = await queue.next()) {
      try {
        const report = await restoreVolume(context, v);
        tally.written += report.written;
        tally.bytes += report.bytes;
        tally.identical += report.identical;
        tally.settled.add(v.volume.id);
      } catch (error) {
        if (!isVolumeFailure(error)) {
          failure.abort(error);
          throw error;
        }
        step.log.error(`${quotePath(v.volume.name)}: ${(error as Error).message}`);
        tally.failedVolumes++;
      }
    }
  });
  const results = await Promise.allSettled([waiter, ...workers]);
  const rejected = results.find((r) => r.status === "rejected");
  if (rejected) {
    throw step.signal.aborted ? step.signal.reason : failure.signal.reason ?? rejected.reason;
  }
}
