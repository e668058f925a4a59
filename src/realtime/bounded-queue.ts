/**
 * A subscriber's queue of live events, bounded: a client that stops reading
 * cannot grow the server's memory. When full, new events are dropped and
 * counted; the feed then tells the client it fell behind, with the cursor to
 * catch up from (the events are all in the event table).
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  dropped = 0;
  /** The most the queue ever held (for tests and stats). */
  highWater = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.items.length;
  }

  get overflowed(): boolean {
    return this.dropped > 0;
  }

  push(item: T): void {
    if (this.items.length >= this.capacity) {
      this.dropped += 1;
    } else {
      this.items.push(item);
      this.highWater = Math.max(this.highWater, this.items.length);
    }
    this.wake();
  }

  shift(): T | undefined {
    return this.items.shift();
  }

  /** Resolves when something was pushed or wake() was called. */
  wait(): Promise<void> {
    if (this.items.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
