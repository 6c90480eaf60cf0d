/**
 * A fixed number of slots, each owning one reusable buffer: what the backup's part uploads share.
 * Whoever holds a slot may use its buffer until it gives the slot back, so the memory held is at
 * most `count` times the largest size asked for, however many users wait, and a buffer is
 * allocated once per slot rather than once per use. The waiting is `Slots`'.
 */
import { Slots } from "./concurrency.ts";

/** A held slot: its buffer, cut to the size asked for, and the way to give it back. */
export interface BufferLease {
  /** `size` bytes, owned by the holder until `release()`. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Gives the slot back (a second call does nothing). */
  release(): void;
}

/** `count` slots with a buffer each; `acquire` waits (first come, first served) for a free one. */
export class BufferSlots {
  readonly #slots: Slots;
  /** The buffers of the slots not held (at most `count`; made on first use). */
  readonly #free: Uint8Array<ArrayBuffer>[] = [];
  #held = 0;
  #mostHeld = 0;

  constructor(readonly count: number) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`bad slot count ${count}`);
    this.#slots = new Slots(count);
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
    await this.#slots.acquire(signal);
    this.#held++;
    this.#mostHeld = Math.max(this.#mostHeld, this.#held);
    // A slot keeps the largest buffer it was asked for: parts of one run share one size.
    let buffer = this.#free.pop() ?? new Uint8Array(0);
    if (buffer.length < size) buffer = new Uint8Array(size);
    let released = false;
    const owned = buffer;
    return {
      bytes: owned.subarray(0, size),
      release: () => {
        if (released) return;
        released = true;
        this.#held--;
        this.#free.push(owned);
        this.#slots.release();
      },
    };
  }
}
