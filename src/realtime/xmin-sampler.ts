/**
 * Samples PostgreSQL's oldest running transaction (pg_snapshot_xmin) every
 * few seconds while program feeds are open. `settled()` is the sample from at
 * least `settleMs` ago: every event of a transaction older than that
 * committed long enough ago to have reached subscribers live (or they were
 * told they fell behind), so a program cursor's watermark can move up to it.
 */
export class XminSampler {
  private samples: { at: number; xmin: bigint }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private users = 0;

  constructor(
    private readonly read: () => Promise<bigint>,
    private readonly settleMs = 10_000,
    private readonly everyMs = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The oldest running transaction now. */
  async current(): Promise<bigint> {
    const xmin = await this.read();
    this.record(xmin);
    return xmin;
  }

  settled(): bigint {
    const cutoff = this.now() - this.settleMs;
    let best = -1n;
    for (const sample of this.samples) if (sample.at <= cutoff && sample.xmin > best) best = sample.xmin;
    return best;
  }

  /** Sampling runs while anyone uses it. */
  use(): () => void {
    this.users += 1;
    if (!this.timer) {
      this.timer = setInterval(() => void this.current().catch(() => undefined), this.everyMs);
      this.timer.unref();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users -= 1;
      if (this.users === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private record(xmin: bigint): void {
    const at = this.now();
    this.samples.push({ at, xmin });
    // Keep what settled() can still use: the newest settled sample and everything after it.
    const cutoff = at - this.settleMs;
    const firstUseful = this.samples.findLastIndex((sample) => sample.at <= cutoff);
    if (firstUseful > 0) this.samples = this.samples.slice(firstUseful);
  }
}
