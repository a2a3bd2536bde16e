/**
 * One WebSocket connection's calls: a few run at once, a bounded number wait their turn, and the
 * rest are refused at once. Without the bound, one client that sends thousands of calls puts them
 * all ahead of every other client's in the engine's and the disk's queues.
 */
export interface CallQueueLimits {
  /** Calls of this connection running at the same time. */
  inFlight: number;
  /** Calls of this connection waiting for a free slot; one more is refused. */
  waiting: number;
}

export class CallQueue {
  #running = 0;
  readonly #waiting: Array<() => Promise<void>> = [];
  #closed = false;

  constructor(readonly limits: CallQueueLimits) {}

  /** Calls running now. */
  get running(): number {
    return this.#running;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Run `call` now or when a slot frees up. Returns false, without running it, when the backlog is
   * full or the queue was closed; the caller answers that call itself.
   */
  offer(call: () => Promise<void>): boolean {
    if (this.#closed) return false;
    if (this.#running < this.limits.inFlight) {
      this.#start(call);
      return true;
    }
    if (this.#waiting.length >= this.limits.waiting) return false;
    this.#waiting.push(call);
    return true;
  }

  /** Drop the waiting calls (their connection is gone); running ones finish on their own. */
  close(): void {
    this.#closed = true;
    this.#waiting.length = 0;
  }

  #start(call: () => Promise<void>): void {
    this.#running++;
    // A call's own failure is its caller's to report; the queue only needs to know it ended.
    void call()
      .catch(() => undefined)
      .finally(() => {
        this.#running--;
        const next = this.#waiting.shift();
        if (next && !this.#closed) this.#start(next);
      });
  }
}
