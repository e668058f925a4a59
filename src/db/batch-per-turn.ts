import DataLoader from "dataloader";

/**
 * How long after one statement of a loader the next one waits, gathering
 * keys, when it comes that soon (a storm). Sockets' messages mostly arrive
 * one a turn, and a statement through `pg` is answered within a turn or two,
 * so by turn and by running statement alone most statements of a reconnect
 * storm carried one or two keys. At 5 ms a storm of 10,000 subscribers still
 * sent about one statement for every three of them (two loaders: the
 * partner's token, the feed's starting sequence); at 20 ms half as many, and
 * PostgreSQL's share of the storm's CPU halved (BENCHMARKS.md, "Live feed",
 * "Tenth stop"). A key of a storm waits 20 ms more at most; a lone one, none.
 */
export const STORM_SPACING_MS = 20;

/**
 * A loader that gathers the keys asked for while it is busy into one
 * statement: a batch goes out at the end of the turn it was started in
 * (setImmediate); while the loader's previous statement is still running,
 * when that one is answered; and within `spacingMs` of the loader's previous
 * statement (a storm), `spacingMs` after it. A reconnect storm of a thousand
 * subscribers costs a few statements instead of a thousand (each a pool
 * checkout, a round trip and the database's planning), and a lone key after
 * a quiet spell waits for nothing but its turn; under a storm a key waits
 * `spacingMs` at most beyond that. No cache: each key is read afresh.
 */
export function batchPerTurn<K, V>(load: (keys: readonly K[]) => Promise<V[]>, maxBatchSize = 500, spacingMs = STORM_SPACING_MS): (key: K) => Promise<V> {
  let running = 0;
  /** When the loader's last statement went out (performance.now()). */
  let lastSent = Number.NEGATIVE_INFINITY;
  /** Batches due while a statement ran, in order. */
  const held: (() => void)[] = [];
  const send = (dispatch: () => void) => {
    if (running > 0) held.push(dispatch);
    else dispatch();
  };
  const loader = new DataLoader<K, V, string>(
    async (keys) => {
      running += 1;
      lastSent = performance.now();
      try {
        return await load(keys);
      } finally {
        running -= 1;
        held.shift()?.();
      }
    },
    {
      cache: false,
      maxBatchSize,
      batchScheduleFn: (dispatch) =>
        setImmediate(() => {
          const wait = running > 0 ? 0 : lastSent + spacingMs - performance.now();
          if (wait > 0) setTimeout(send, wait, dispatch);
          else send(dispatch);
        }),
    },
  );
  return (key) => loader.load(key);
}
