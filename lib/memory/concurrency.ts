/**
 * Small concurrency primitives of the backup and restore pipelines: a work queue, a counter of
 * free slots (room for volumes on local disk), and a bounded map. They sit in the lowest layer
 * (beside the buffer handling, the other budget of the machine's resources) so that every flow
 * can use them.
 */

/** A FIFO that producers push to and consumers await; `close()` ends it once drained. */
export class WorkQueue<T> {
  #items: T[] = [];
  #waiters: ((item: T | undefined) => void)[] = [];
  #closed = false;

  /** Adds an item, handing it straight to a waiting consumer if there is one. */
  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  /** No more items will come; waiting consumers get `undefined`. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  /** The next item, or `undefined` once the queue is closed and empty. */
  next(): Promise<T | undefined> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift());
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** Counts free slots (room for volumes on local disk; the part uploads of buffer_slots.ts). */
export class Slots {
  #free: number;
  #waiters: (() => void)[] = [];

  constructor(count: number) {
    this.#free = count;
  }

  /** Waits for a free slot and takes it. Rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== granted);
        reject(signal!.reason);
      };
      const granted = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(granted);
    });
  }

  /** Gives a slot back, waking the oldest waiter. */
  release(): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter();
    else this.#free++;
  }
}

/** Runs `fn` over `items` with at most `limit` calls at once; results in item order. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
