/**
 * Catches partner feeds that missed a live event (a publish lost to a Redis
 * hiccup, or a subscription that was not yet active on Redis): every
 * `everyMs`, one query reads the committed `balances.event_sequence` of every
 * partner that has a feed open on this instance (taken under the partner's
 * lock in the transaction that writes its events, so it is the partner's
 * last committed sequence), and tells each feed that has delivered less that
 * it is behind; that feed then reads what it missed from the event table.
 * One query per period for all feeds of the instance, not one per feed.
 */
export interface Watcher {
  /** The last sequence the feed delivered. */
  last(): bigint;
  /** Called when a later sequence is committed. */
  behind(): void;
}

const CHUNK = 1000;

export class SequenceWatch {
  private readonly watchers = new Map<string, Set<Watcher>>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly read: (partnerIds: string[]) => Promise<Map<string, bigint>>,
    readonly everyMs = 2_000,
  ) {}

  watch(partnerId: string, watcher: Watcher): () => void {
    let set = this.watchers.get(partnerId);
    if (!set) this.watchers.set(partnerId, (set = new Set()));
    set.add(watcher);
    if (!this.timer) {
      this.timer = setInterval(() => void this.check().catch(() => undefined), this.everyMs);
      this.timer.unref();
    }
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const current = this.watchers.get(partnerId);
      current?.delete(watcher);
      if (current?.size === 0) this.watchers.delete(partnerId);
      if (this.watchers.size === 0) this.stop();
    };
  }

  /** One round (also for tests). */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const ids = [...this.watchers.keys()];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const committed = await this.read(ids.slice(i, i + CHUNK));
        for (const [partnerId, sequence] of committed) {
          for (const watcher of this.watchers.get(partnerId) ?? []) if (watcher.last() < sequence) watcher.behind();
        }
      }
    } finally {
      this.checking = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
