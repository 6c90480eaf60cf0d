/**
 * A bounded window of entry writes running at once. Creating a file costs the file system far
 * more time than decoding its bytes, and one write after another leaves the program waiting on
 * each; a few writes in flight keep the disk busy while the next entries are decoded. Each write
 * runs in a numbered slot, so that concurrent writes can use distinct staging names.
 */
export class WriteWindow {
  readonly #inFlight = new Set<Promise<void>>();
  readonly #freeSlots: number[];
  #failed = false;
  #failure: unknown;

  /** A window of `size` slots (at least 1). */
  constructor(size: number) {
    this.#freeSlots = Array.from({ length: Math.max(1, size) }, (_, i) => size - 1 - i);
  }

  /**
   * Starts `write` in a free slot, waiting for one first; rejects with the failure of an earlier
   * write instead, if one failed.
   */
  async start(write: (slot: number) => Promise<void>): Promise<void> {
    while (this.#freeSlots.length === 0) await Promise.race(this.#inFlight);
    this.#throwIfFailed();
    const slot = this.#freeSlots.pop()!;
    const running: Promise<void> = write(slot)
      .catch((error) => {
        if (this.#failed) return;
        this.#failed = true;
        this.#failure = error;
      })
      .finally(() => {
        this.#inFlight.delete(running);
        this.#freeSlots.push(slot);
      });
    this.#inFlight.add(running);
  }

  /** Waits for every write in flight; rejects with the first failure, if any. */
  async drain(): Promise<void> {
    await this.settle();
    this.#throwIfFailed();
  }

  /** Waits for every write in flight, whatever became of them (before giving up on a volume). */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#failure;
  }
}
