import { createHash } from "node:crypto";
import { getNamedType, getOperationAST, print, TypeInfo, visit, visitWithTypeInfo, BREAK, type DocumentNode, type ExecutionResult, type GraphQLSchema } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Viewer } from "../auth/viewer.ts";
import type { Clock } from "../clock.ts";
import type { PrismaClient } from "../db/database.ts";

/**
 * Partner reads answered from memory while the partner's data is unchanged
 * (issue 12: the portal asks the same thing again and again).
 *
 * Validity comes from the database, never from messages, so it holds across
 * instances and after a lost publish: `balances.event_sequence` is bumped, in
 * the same transaction and under the partner's lock, by every change to the
 * partner's lines and balance (services/ledger/ledger.ts, flush). Each answer
 * is stored with the sequence read before it was computed; a request reads the
 * current one (one indexed statement, `readValidity`) and is served from
 * memory only when it is the same. The statement also reads the balance's
 * currency (a program's currency may change while it has no lines, with no
 * event) and the earliest future `payableAt` of the partner's APPROVED lines:
 * time alone makes a line payable (domain/payable.ts), so an answer is served
 * only before that instant, on the program's clock.
 *
 * Only what the sequence covers is cached: an operation whose every field is
 * in CACHEABLE_FIELDS (a query, of a partner token). Anything else (profile,
 * payouts, program settings, payment details, the token's expiry) is executed
 * as always. Only answers without errors are kept. Authentication, the cost,
 * rate and time limits run for a cached answer as for any other: the cache
 * stands in for execution only (installed before the limits' plugin, whose
 * time limit wraps it).
 */

/**
 * Schema coordinates whose answer, for a partner, is a function of the
 * partner's lines and balance row (bumped with its event sequence), its
 * immutable id, the token's subject, and the clock through `payableAt` only.
 * `__typename` is allowed everywhere.
 */
const CACHEABLE_FIELDS: ReadonlySet<string> = new Set([
  "Query.viewer",
  "Query.commissions",
  "Viewer.role",
  "Viewer.subject",
  "Viewer.partner",
  "Partner.id",
  "Partner.balance",
  "Partner.commissions",
  "Balance.partnerId",
  "Balance.pending",
  "Balance.payable",
  "Balance.inPayouts",
  "Balance.paid",
  "Balance.lifetimeEarned",
  "Balance.recoverable",
  "Money.amount",
  "Money.currency",
  "QueryCommissionsConnection.edges",
  "QueryCommissionsConnection.pageInfo",
  "QueryCommissionsConnection.totalCount",
  "QueryCommissionsConnectionEdge.cursor",
  "QueryCommissionsConnectionEdge.node",
  "PartnerCommissionsConnection.edges",
  "PartnerCommissionsConnection.pageInfo",
  "PartnerCommissionsConnection.totalCount",
  "PartnerCommissionsConnectionEdge.cursor",
  "PartnerCommissionsConnectionEdge.node",
  "PageInfo.startCursor",
  "PageInfo.endCursor",
  "PageInfo.hasNextPage",
  "PageInfo.hasPreviousPage",
  // A line's amount, kind, dates and conversion never change; its status (and
  // payout membership, which isPayable reads) change through the ledger only.
  "Commission.id",
  "Commission.kind",
  "Commission.status",
  "Commission.amount",
  "Commission.partnerId",
  "Commission.occurredAt",
  "Commission.payableAt",
  "Commission.isPayable",
  "Commission.paidAt",
  "Commission.createdAt",
]);

/** Directives that only choose fields; any other (a future @defer, say) makes an operation uncacheable. */
const PLAIN_DIRECTIVES: ReadonlySet<string> = new Set(["include", "skip"]);

/** Variables (as JSON) longer than this are not made into a key: such a request is executed. */
const MAX_VARIABLES_KEY = 2_048;

/** Whether every field of the document is in CACHEABLE_FIELDS and its operation is a query. */
export function isCacheableOperation(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): boolean {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== "query") return false;
  let cacheable = true;
  const typeInfo = new TypeInfo(schema);
  // The whole document (every operation and fragment): more than is run, never less.
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Directive(node) {
        if (PLAIN_DIRECTIVES.has(node.name.value)) return;
        cacheable = false;
        return BREAK;
      },
      Field(node) {
        if (node.name.value === "__typename") return;
        const parent = typeInfo.getParentType();
        if (parent && CACHEABLE_FIELDS.has(`${getNamedType(parent).name}.${node.name.value}`)) return;
        cacheable = false;
        return BREAK;
      },
    }),
  );
  return cacheable;
}

/** What makes a stored answer still the answer: read in one statement before each cacheable request. */
export interface Validity {
  /** balances.event_sequence, as text. */
  sequence: string;
  currency: string;
  /** The earliest payableAt after `now` of the partner's APPROVED lines: the answer may change then. */
  nextPayableAt: Date | null;
}

/**
 * The partner's sequence, balance currency and next hold end, in one
 * statement (balances' primary key; commissions' (program, partner, status,
 * payable_at) index). Null when the partner has no balance row.
 */
export async function readValidity(prisma: PrismaClient, programId: string, partnerId: string, now: Date): Promise<Validity | null> {
  const rows = await prisma.$queryRaw<{ sequence: string; currency: string; next_payable_at: Date | null }[]>`
    SELECT b.event_sequence::text AS sequence, b.currency,
           (SELECT min(c.payable_at) FROM commissions c
             WHERE c.program_id = ${programId}::uuid AND c.partner_id = ${partnerId}::uuid
               AND c.status = 'APPROVED' AND c.payable_at > ${now}) AS next_payable_at
      FROM balances b
     WHERE b.program_id = ${programId}::uuid AND b.partner_id = ${partnerId}::uuid`;
  const row = rows[0];
  return row ? { sequence: row.sequence, currency: row.currency, nextPayableAt: row.next_payable_at ? new Date(row.next_payable_at) : null } : null;
}

interface Entry {
  /** The answer as JSON: parsed afresh for each hit, so no caller can change what is kept. */
  body: string;
  sequence: bigint;
  currency: string;
  /** Served only on the clock's [validFrom, validUntil). */
  validFrom: number;
  validUntil: number;
  bytes: number;
}

/** Per entry beyond its strings (the entry, the map's slot). */
const ENTRY_OVERHEAD_BYTES = 200;

/** A least-recently-used map bounded by the (estimated) bytes of its keys and answers. */
class BoundedEntries {
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  constructor(readonly maxBytes: number) {}

  get size(): number {
    return this.#entries.size;
  }
  get bytes(): number {
    return this.#bytes;
  }

  get(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      // Most recently used last.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }

  set(key: string, entry: Entry): void {
    // One answer may take an eighth of the room at most.
    if (entry.bytes > this.maxBytes / 8) return;
    this.delete(key);
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    for (const [oldest, old] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= old.bytes;
    }
  }
}

export interface ResponseCacheOptions {
  prisma: PrismaClient;
  clock: Clock;
  /** Bound on the keys' and answers' size (UTF-16 estimate). */
  maxBytes: number;
}

export interface ResponseCache {
  plugin: Plugin;
  /** Since start: answers served from memory, answers executed and kept, and what is kept now. */
  stats(): { hits: number; stores: number; entries: number; bytes: number };
}

/** The response cache and its envelop plugin (server.ts installs it just before the limits). */
export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const entries = new BoundedEntries(options.maxBytes);
  let hits = 0;
  let stores = 0;
  // yoga's parser cache hands every request with the same text the same document: each is judged and hashed once.
  const judged = new WeakMap<DocumentNode, Map<string, boolean>>();
  const hashes = new WeakMap<DocumentNode, string>();

  const cacheable = (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined) => {
    let byOperation = judged.get(document);
    if (!byOperation) judged.set(document, (byOperation = new Map()));
    const name = operationName ?? "";
    let verdict = byOperation.get(name);
    if (verdict === undefined) byOperation.set(name, (verdict = isCacheableOperation(schema, document, operationName)));
    return verdict;
  };
  const hashOf = (document: DocumentNode) => {
    let hash = hashes.get(document);
    if (!hash) hashes.set(document, (hash = createHash("sha256").update(print(document)).digest("base64url")));
    return hash;
  };

  const plugin: Plugin = {
    onExecute({ args, executeFn, setExecuteFn }) {
      const viewer = (args.contextValue as { viewer?: Viewer | null }).viewer;
      if (viewer?.role !== "partner") return;
      if (!cacheable(args.schema, args.document, args.operationName)) return;
      let variables: string;
      try {
        variables = JSON.stringify(args.variableValues ?? null);
      } catch {
        return;
      }
      if (variables.length > MAX_VARIABLES_KEY) return;
      // Never shared across programs or partners; the subject is what Viewer.subject answers.
      const key = [viewer.programId, viewer.partnerId, viewer.subject, hashOf(args.document), args.operationName ?? "", variables].join("\u0000");

      setExecuteFn(async (executeArgs) => {
        const now = options.clock.now().getTime();
        const validity = await readValidity(options.prisma, viewer.programId, viewer.partnerId, new Date(now));
        if (!validity) return executeFn(executeArgs);
        const sequence = BigInt(validity.sequence);
        const found = entries.get(key);
        if (found) {
          if (found.sequence === sequence && found.currency === validity.currency && found.validFrom <= now && now < found.validUntil) {
            hits += 1;
            return JSON.parse(found.body) as ExecutionResult;
          }
          entries.delete(key);
        }
        const result = (await executeFn(executeArgs)) as ExecutionResult;
        // Only a plain answer: no errors, nothing beside its data.
        if (Symbol.asyncIterator in result || result.errors !== undefined || result.data == null || Object.keys(result).length !== 1) return result;
        // An answer computed while a hold ended (the clock passed the bound meanwhile) is not kept.
        const validUntil = validity.nextPayableAt?.getTime() ?? Number.POSITIVE_INFINITY;
        if (options.clock.now().getTime() >= validUntil) return result;
        const newer = entries.get(key);
        if (newer && newer.sequence > sequence) return result;
        const body = JSON.stringify(result);
        entries.set(key, { body, sequence, currency: validity.currency, validFrom: now, validUntil, bytes: 2 * (key.length + body.length) + ENTRY_OVERHEAD_BYTES });
        stores += 1;
        return result;
      });
    },
  };

  return {
    plugin,
    stats: () => ({ hits, stores, entries: entries.size, bytes: entries.bytes }),
  };
}
