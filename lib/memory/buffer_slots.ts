/**
 * A fixed number of slots, each owning one reusable buffer: what the backup's part uploads share.
 * Whoever holds a slot may use its buffer until it gives the slot back, so the memory held is at
 * most `count` times the largest size asked for, however many users wait, and a buffer is
 * allocated once per slot rather than once per use.
 */

/** A held slot: its buffer, cut to the size asked for, and the way to give it back. */
export interface BufferLease {
  /** `size` bytes, owned by the holder until `release()`. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Gives the slot back (a second call does nothing). */
  release(): void;
}

/** `count` slots with a buffer each; `acquire` waits (first come, first served) for a free one. */
export class BufferSlots {
  readonly #free: Uint8Array<ArrayBuffer>[];
  readonly #waiters: ((buffer: Uint8Array<ArrayBuffer>) => void)[] = [];
  #held = 0;
  #mostHeld = 0;

  constructor(readonly count: number) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`bad slot count ${count}`);
    this.#free = Array.from({ length: count }, () => new Uint8Array(0));
  }

  /** Slots held now. */
  get held(): number {
    return this.#held;
  }

  /** The most slots held at once so far. */
  get mostHeld(): number {
    return this.#mostHeld;
  }

  /** Waits for a free slot and takes it, with `size` bytes. Rejects if `signal` aborts first. */
  async acquire(size: number, signal?: AbortSignal): Promise<BufferLease> {
    signal?.throwIfAborted();
    let buffer = this.#free.pop();
    if (!buffer) buffer = await this.#wait(signal);
    this.#held++;
    this.#mostHeld = Math.max(this.#mostHeld, this.#held);
    // A slot keeps the largest buffer it was asked for: parts of one run share one size.
    if (buffer.length < size) buffer = new Uint8Array(size);
    let released = false;
    const owned = buffer;
    return {
      bytes: owned.subarray(0, size),
      release: () => {
        if (released) return;
        released = true;
        this.#held--;
        const waiter = this.#waiters.shift();
        if (waiter) waiter(owned);
        else this.#free.push(owned);
      },
    };
  }

  #wait(signal: AbortSignal | undefined): Promise<Uint8Array<ArrayBuffer>> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiters.indexOf(granted);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal!.reason);
      };
      const granted = (buffer: Uint8Array<ArrayBuffer>) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(buffer);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(granted);
    });
  }
}
