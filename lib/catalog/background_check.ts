/**
 * SQLite's quick_check of a state database on a worker thread, so that a command can read the
 * catalog (a restore's plan) while the whole file is checked: the check reads every page, 0.4 s
 * for a catalog of 300,000 files, most of a restore's start. Read-only, on its own connection.
 */
import { type PostedError, revivedError } from "../archive/worker_errors.ts";

/** What the worker is asked: the state database to check. */
export interface CheckRequest {
  path: string;
}

/** The worker's answer: SQLite's result ("ok", or what is damaged), or why it could not check. */
export type CheckReply = { result: string } | { error: PostedError };

/** One check, running on its own worker from the moment it is made. */
export class BackgroundCheck {
  readonly #worker: Worker;
  /** SQLite's result; rejects when the file could not be checked at all. */
  readonly result: Promise<string>;

  constructor(path: string) {
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    this.result = promise;
    this.#worker = new Worker(new URL("./check_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = ({ data }: MessageEvent<CheckReply>) => {
      this.stop();
      if ("result" in data) resolve(data.result);
      else reject(revivedError(data.error));
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.stop();
      reject(new Error(event.message));
    };
    this.#worker.postMessage({ path } satisfies CheckRequest);
  }

  /** Ends the worker (at once, if it is still checking). */
  stop(): void {
    this.#worker.terminate();
  }
}
