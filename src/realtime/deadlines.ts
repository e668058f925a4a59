/** Something that ends at a time: a feed whose token expires, a connection's token. */
export interface Deadline {
  /** When, on `performance.now()`'s clock. */
  at: number;
  /** Its place in the schedule (-1 when not scheduled); kept by Deadlines. */
  slot: number;
  expire(): void;
}

/** Timers cannot wait longer than this (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Many deadlines on one timer: a binary heap ordered by `at`, the timer set
 * for the first. An open feed or connection costs a slot in the heap, not a
 * timer (a Timeout, its callback, and a timer list per distinct delay) of
 * its own.
 */
export class Deadlines {
  private readonly heap: Deadline[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  /** Calls `deadline.expire()` in `ms` milliseconds, unless removed first. */
  add(deadline: Deadline, ms: number): void {
    this.remove(deadline);
    deadline.at = performance.now() + Math.max(0, ms);
    deadline.slot = this.heap.length;
    this.heap.push(deadline);
    this.up(deadline.slot);
    this.arm();
  }

  remove(deadline: Deadline): void {
    const slot = deadline.slot;
    if (slot < 0 || this.heap[slot] !== deadline) return;
    deadline.slot = -1;
    const last = this.heap.pop()!;
    if (last !== deadline) {
      this.heap[slot] = last;
      last.slot = slot;
      this.down(slot);
      this.up(last.slot);
    }
    if (this.heap.length === 0) this.disarm();
  }

  get size(): number {
    return this.heap.length;
  }

  private readonly fire = () => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const first = this.heap[0]!;
      this.remove(first);
      first.expire();
    }
    this.arm();
  };

  private arm(): void {
    const first = this.heap[0];
    if (!first || first.at >= this.timerAt) return;
    this.disarm();
    this.timerAt = first.at;
    this.timer = setTimeout(this.fire, Math.min(Math.max(0, Math.ceil(first.at - performance.now())), MAX_TIMER_MS));
    this.timer.unref();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private up(slot: number): void {
    const { heap } = this;
    const item = heap[slot]!;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (heap[parent]!.at <= item.at) break;
      heap[slot] = heap[parent]!;
      heap[slot]!.slot = slot;
      slot = parent;
    }
    heap[slot] = item;
    item.slot = slot;
  }

  private down(slot: number): void {
    const { heap } = this;
    const item = heap[slot]!;
    for (;;) {
      let child = 2 * slot + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && heap[child + 1]!.at < heap[child]!.at) child += 1;
      if (heap[child]!.at >= item.at) break;
      heap[slot] = heap[child]!;
      heap[slot]!.slot = slot;
      slot = child;
    }
    heap[slot] = item;
    item.slot = slot;
  }
}

/** The process's deadlines (feeds' and WebSocket connections' token expiries). */
export const deadlines = new Deadlines();
