import DataLoader from "dataloader";

/**
 * A loader that gathers the keys asked for while it is busy into one
 * statement: a batch goes out at the end of the turn it was started in
 * (setImmediate), or, while the loader's previous statement is still
 * running, when that one is answered. Sockets' messages mostly arrive one a
 * turn, so batching by turn alone made a statement of one key most of the
 * time; a reconnect storm of a thousand subscribers now costs a few
 * statements instead of a thousand (each a pool checkout, a round trip and
 * Prisma's per-query work), and a lone key waits for nothing but its turn.
 * No cache: each key is read afresh.
 */
export function batchPerTurn<K, V>(load: (keys: readonly K[]) => Promise<V[]>, maxBatchSize = 500): (key: K) => Promise<V> {
  let running = 0;
  /** Batches due while a statement ran, in order. */
  const held: (() => void)[] = [];
  const loader = new DataLoader<K, V, string>(
    async (keys) => {
      running += 1;
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
          if (running > 0) held.push(dispatch);
          else dispatch();
        }),
    },
  );
  return (key) => loader.load(key);
}
