import DataLoader from "dataloader";

/**
 * A loader that gathers every key asked for in one turn of the event loop
 * (the sockets' messages read in one poll, each in its own callback) into one
 * statement, run from setImmediate. A reconnect storm of a thousand
 * subscribers then costs a few statements instead of a thousand, each of
 * which is a pool checkout, a round trip and Prisma's per-query work. No
 * cache: each key is read afresh.
 */
export function batchPerTurn<K, V>(load: (keys: readonly K[]) => Promise<V[]>, maxBatchSize = 500): (key: K) => Promise<V> {
  const loader = new DataLoader<K, V, string>(load, {
    cache: false,
    maxBatchSize,
    batchScheduleFn: (run) => setImmediate(run),
  });
  return (key) => loader.load(key);
}
