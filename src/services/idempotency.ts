import { fail } from "../domain/errors.ts";
import { contentHash } from "./conversions/content-hash.ts";
import { RetryTransaction, type Tx } from "./transact.ts";

/**
 * Runs a money-moving command once per idempotency key: the key is reserved
 * in the command's own transaction (a concurrent request with the same key
 * waits on it, then finds it), and its result is stored with it. A replay
 * with the same request returns the stored result; with another request it
 * is an IDEMPOTENCY_CONFLICT. A command that fails leaves no key behind, so
 * the client may retry it.
 */
export async function once<T>(
  tx: Tx,
  operation: string,
  key: string | null | undefined,
  request: unknown,
  run: () => Promise<T>,
  codec: { encode(value: T): unknown; decode(stored: unknown): Promise<T> },
): Promise<T> {
  if (key == null) return run();
  const trimmed = key.trim();
  if (!trimmed || trimmed.length > 255) fail("INVALID_INPUT", "idempotencyKey must be 1 to 255 characters", ["input", "idempotencyKey"]);
  const hash = contentHash(request);
  const reserved = await tx.db.$queryRaw<{ key: string }[]>`
    INSERT INTO idempotency_keys (program_id, operation, key, request_hash, response, created_at)
    VALUES (${tx.programId}::uuid, ${operation}, ${trimmed}, ${hash}, 'null'::jsonb, ${tx.now})
    ON CONFLICT DO NOTHING RETURNING key`;
  if (reserved.length === 0) {
    const [stored] = await tx.db.$queryRaw<{ request_hash: string; response: unknown }[]>`
      SELECT request_hash, response FROM idempotency_keys
       WHERE program_id = ${tx.programId}::uuid AND operation = ${operation} AND key = ${trimmed}`;
    if (!stored) throw new RetryTransaction("idempotency key vanished");
    if (stored.request_hash !== hash) {
      fail("IDEMPOTENCY_CONFLICT", "this idempotencyKey was used before with another request", ["input", "idempotencyKey"]);
    }
    return codec.decode(stored.response);
  }
  const value = await run();
  await tx.db.$executeRaw`
    UPDATE idempotency_keys SET response = ${JSON.stringify(codec.encode(value))}::jsonb
     WHERE program_id = ${tx.programId}::uuid AND operation = ${operation} AND key = ${trimmed}`;
  return value;
}
