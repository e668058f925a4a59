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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class SequenceWatch {
  private readonly watchers = new Map<string, Watcher | Set<Watcher>>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  /** A round asked for ahead of the period (`soon`) and not yet begun. */
  private asked = false;

  /** How long a feed found behind is given to receive the event live (a quarter period, 250 ms at most). */
  readonly graceMs: number;

  constructor(
    private readonly read: (partnerIds: string[]) => Promise<Map<string, bigint>>,
    readonly everyMs = 2_000,
  ) {
    this.graceMs = Math.min(250, Math.floor(everyMs / 4));
  }

  watch(partnerId: string, watcher: Watcher): void {
    // One watcher per partner is the rule (a partner's portal, or its
    // integration): it is kept alone, a set made only for a second one.
    const current = this.watchers.get(partnerId);
    if (!current) this.watchers.set(partnerId, watcher);
    else if (current instanceof Set) current.add(watcher);
    else this.watchers.set(partnerId, new Set([current, watcher]));
    if (!this.timer) {
      this.timer = setInterval(() => void this.check().catch(() => undefined), this.everyMs);
      this.timer.unref();
    }
  }

  /** Stops watching for `watcher` (nothing if it was not watching). */
  unwatch(partnerId: string, watcher: Watcher): void {
    const now = this.watchers.get(partnerId);
    if (now === watcher) this.watchers.delete(partnerId);
    else if (now instanceof Set) {
      now.delete(watcher);
      if (now.size === 0) this.watchers.delete(partnerId);
      else if (now.size === 1) this.watchers.set(partnerId, now.values().next().value!);
    }
    if (this.watchers.size === 0) this.stop();
  }

  /**
   * A round now rather than at the period's end (another instance could not
   * fan out some events): once however many feeds ask in the same turn. One
   * under way runs again when it ends, since it may have read before the
   * events it is asked about.
   */
  soon(): void {
    if (this.asked) return;
    this.asked = true;
    setImmediate(() => void this.askedRound().catch(() => undefined));
  }

  private async askedRound(): Promise<void> {
    while (this.checking) await sleep(this.graceMs);
    this.asked = false;
    await this.check();
  }

  /**
   * One round (also for tests). A feed found behind is told so only after a
   * short grace, and only if it is behind still: the read can see a commit
   * before this instance has published its events (the publish follows the
   * commit's answer), and a feed told at once would read from the table an
   * event that was about to arrive live (delivering it without its commit
   * time). A publish that was lost is caught all the same, `graceMs` later.
   */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const ids = [...this.watchers.keys()];
      const late: [Watcher, bigint][] = [];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const committed = await this.read(ids.slice(i, i + CHUNK));
        for (const [partnerId, sequence] of committed) {
          const watching = this.watchers.get(partnerId);
          for (const watcher of watching instanceof Set ? watching : watching ? [watching] : []) if (watcher.last() < sequence) late.push([watcher, sequence]);
        }
      }
      if (late.length === 0) return;
      await sleep(this.graceMs);
      for (const [watcher, sequence] of late) if (watcher.last() < sequence) watcher.behind();
    } finally {
      this.checking = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
