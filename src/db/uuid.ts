import { randomUUID } from "node:crypto";

let lastMs = 0;
let sequence = 0;

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, a 12-bit counter
 * (method 1 of the RFC, so ids made in the same millisecond still sort in the
 * order they were made), then random bits. For rows we insert with plain
 * SQL; Prisma's `uuid(7)` default does the same for the others. The wall
 * clock, not the business clock: ids order insertion, nothing else.
 *
 * The random bits are those of a `randomUUID()` (version 4: 122 random bits
 * and the RFC's variant already set), which draws from node's cached pool of
 * cryptographic randomness: a `randomBytes` call per id cost more than the
 * rest of an id's making (about a tenth of a batch's server CPU).
 */
export function uuidv7(): string {
  // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx: the last 62 random bits, with the variant, are kept as they are.
  const random = randomUUID();
  let now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    sequence = Number.parseInt(random.slice(15, 18), 16) & 0x3ff; // leave room to count up
  } else {
    sequence += 1;
    if (sequence > 0xfff) {
      lastMs += 1;
      sequence = 0;
    }
    now = lastMs;
  }
  const time = now.toString(16).padStart(12, "0");
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${sequence.toString(16).padStart(3, "0")}-${random.slice(19)}`;
}
