import { randomInt } from "node:crypto";
import type { Decimal } from "decimal.js";
import { computeCommission, ruleForSale, type CommissionRule } from "../../domain/commission-rule.ts";
import { parseCurrencyCode, type CurrencyCode } from "../../domain/currency.ts";
import { userError, UserErrorsThrown, type Result, type UserError } from "../../domain/errors.ts";
import { parseAmount, parseDecimal, roundToMinorUnit } from "../../domain/money.ts";
import { addDays, monthOf } from "../../domain/program-time.ts";
import { PREPARED_SQL } from "../../db/prepared.ts";
import { uuidv7 } from "../../db/uuid.ts";
import { Prisma, type Conversion } from "../../generated/prisma/client.ts";
import { Ledger } from "../ledger/ledger.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { RetryTransaction, transact, type Tx } from "../transact.ts";
import { contentHash } from "./content-hash.ts";
import { matchPartners, partnerKeys, type PartnerKeys, type PartnerRefInput } from "./resolve-partners.ts";

export const MAX_BATCH = 500;
const MAX_PARTNERS_PER_CONVERSION = 10;
const RATE_SCALE = 10;
/** Clocks disagree a little; a sale further in the future than this is refused. */
/** Objects and arrays in metadata may nest this deep (a JSON document of 16 KB could nest thousands of levels). */
const MAX_METADATA_DEPTH = 16;

/** How deep objects and arrays nest in a JSON value, counted without recursion (so no depth overflows the stack). */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** How far ahead of our clock an integrator's clock may run. */
export const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

export interface ConversionInput {
  externalId: string;
  partners: PartnerRefInput[];
  amount: string;
  currency: string;
  /** Program-currency units per unit of `currency`; required when they differ. */
  exchangeRate?: string | null;
  occurredAt: Date;
  metadata?: Record<string, unknown> | null;
}

export interface RecordedConversion {
  id: string;
  externalId: string;
  /** False when the same conversion was posted before (an idempotent retry). */
  created: boolean;
  /** The row as written, when this call wrote it: its payload needs no read back (made when asked: a batch's answer reads its rows). */
  row?: () => ConversionRow;
}

/** A conversion's columns, as the client reads them. */
export type ConversionRow = Conversion;

interface ProgramRow {
  currency: string;
  time_zone: string;
  commission_rule: CommissionRule;
  hold_period_days: number;
  approval_mode: "MANUAL" | "AUTOMATIC";
}

interface Checked {
  index: number;
  externalId: string;
  partnerIds: string[];
  amount: Decimal;
  currency: CurrencyCode;
  rate: Decimal | null;
  occurredAt: Date;
  metadata: Record<string, unknown> | null;
  hash: string;
}

/**
 * Records conversions posted by an integrator, all or nothing, and accrues a
 * commission line for each (conversion, partner) by the partner's rule (its
 * override, else the program's). Idempotent by the integrator's conversion
 * id: the same id with the same content returns the first result; with
 * other content it is an IDEMPOTENCY_CONFLICT.
 *
 * Tiered rules number each sale among the partner's non-reversed sales of
 * its calendar month (program time), counted under the partner's balance
 * lock so two concurrent sales can never both be number 100.
 *
 * Errors (each naming the item's field): INVALID_INPUT, INVALID_AMOUNT,
 * INVALID_CURRENCY, EXCHANGE_RATE_REQUIRED, NOT_FOUND (partner),
 * PARTNER_INACTIVE, IDEMPOTENCY_CONFLICT, TOO_MANY_ITEMS.
 */
export function recordConversions(deps: ServiceDeps, actor: Actor, items: ConversionInput[], pathOf: (index: number) => string[]): Promise<Result<RecordedConversion[]>> {
  if (items.length === 0 || items.length > MAX_BATCH) {
    return Promise.resolve({
      ok: false,
      errors: [userError("TOO_MANY_ITEMS", `send 1 to ${MAX_BATCH} conversions at a time (got ${items.length})`, ["input", "items"])],
    });
  }
  // SQL alone (readContext, the writes, the ledger's flush): no Prisma transaction on PostgreSQL.
  return transact(deps, actor, (tx) => record(tx, items, pathOf), { sqlOnly: true });
}

/** The program, the partners a batch names and its conversions recorded before, as one statement reads them. */
interface BatchContext extends ProgramRow {
  partners: { id: string; externalId: string | null; email: string | null; status: string; commissionRuleOverride: unknown }[];
  existing: { id: string; externalId: string; contentHash: string }[];
}

/**
 * One round trip for all a batch must know before it writes: the program
 * (FOR SHARE: its currency and rule cannot change under a batch being
 * accrued), the partners it names (by id, externalId or email) and the
 * conversions already recorded under its externalIds, each read by an index
 * that starts with program_id.
 */
async function readContext(tx: Tx, keys: PartnerKeys, externalIds: string[]): Promise<BatchContext | undefined> {
  const [row] = await tx.db.$queryRaw<BatchContext[]>`${PREPARED_SQL}
    SELECT p.currency, p.time_zone, p.commission_rule, p.hold_period_days, p.approval_mode::text AS approval_mode,
           (SELECT coalesce(json_agg(json_build_object('id', x.id, 'externalId', x.external_id, 'email', x.email, 'status', x.status,
                                                       'commissionRuleOverride', x.commission_rule_override)), '[]'::json)
              FROM partners x
             WHERE x.program_id = ${tx.programId}::uuid
               AND (x.id = ANY(${keys.ids}::uuid[]) OR x.external_id = ANY(${keys.externalIds}::text[]) OR x.email = ANY(${keys.emails}::text[]))) AS partners,
           (SELECT coalesce(json_agg(json_build_object('id', c.id, 'externalId', c.external_id, 'contentHash', c.content_hash)), '[]'::json)
              FROM conversions c WHERE c.program_id = ${tx.programId}::uuid AND c.external_id = ANY(${externalIds}::text[])) AS existing
      FROM programs p WHERE p.id = ${tx.programId}::uuid FOR SHARE OF p`;
  return row;
}

async function record(tx: Tx, items: ConversionInput[], pathOf: (index: number) => string[]): Promise<RecordedConversion[]> {
  const refs = items.flatMap((item, index) => item.partners.map((ref, i) => ({ ref, path: [...pathOf(index), "partners", String(i)] })));
  const keys = partnerKeys(refs);
  const context = await readContext(tx, keys, [...new Set(items.map((item) => item.externalId.trim()))]);
  if (!context) throw new Error("program not found");
  const program: ProgramRow = context;
  const programCurrency = program.currency as CurrencyCode;

  const errors: UserError[] = [];
  const partners = matchPartners(refs, keys, context.partners);
  errors.push(...partners.errors);

  const checked: Checked[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const at = (field: string) => [...pathOf(index), field];
    const externalId = item.externalId.trim();
    if (externalId.length === 0 || externalId.length > 255) errors.push(userError("INVALID_INPUT", "externalId must be 1 to 255 characters", at("externalId")));
    const earlier = seen.get(externalId);
    if (earlier !== undefined) {
      errors.push(userError("INVALID_INPUT", `externalId "${externalId}" appears twice in this batch (items ${earlier} and ${index})`, at("externalId")));
    }
    seen.set(externalId, index);
    const currency = parseCurrencyCode(item.currency);
    if (!currency) errors.push(userError("INVALID_CURRENCY", `"${item.currency}" is not an ISO 4217 currency code`, at("currency")));
    const amount = currency ? parseAmount(item.amount, currency) : undefined;
    if (amount && !amount.ok) errors.push(userError("INVALID_AMOUNT", `amount ${amount.message}`, at("amount")));
    let rate: Decimal | null = null;
    if (currency && currency !== programCurrency) {
      if (item.exchangeRate == null) {
        errors.push(userError("EXCHANGE_RATE_REQUIRED", `a sale in ${currency} needs exchangeRate (${programCurrency} per ${currency})`, at("exchangeRate")));
      } else {
        const parsed = parseDecimal(item.exchangeRate, { maxScale: RATE_SCALE, maxIntegerDigits: 13 });
        if (parsed.ok) rate = parsed.value;
        else errors.push(userError("INVALID_AMOUNT", `exchangeRate ${parsed.message}`, at("exchangeRate")));
      }
    } else if (currency && item.exchangeRate != null && item.exchangeRate !== "1") {
      errors.push(userError("INVALID_INPUT", "a sale in the program's currency takes no exchangeRate", at("exchangeRate")));
    }
    if (Number.isNaN(item.occurredAt.getTime())) errors.push(userError("INVALID_INPUT", "occurredAt is not a time", at("occurredAt")));
    else if (item.occurredAt.getTime() > tx.now.getTime() + FUTURE_TOLERANCE_MS) {
      errors.push(userError("INVALID_INPUT", "occurredAt is in the future", at("occurredAt")));
    }
    if (item.partners.length === 0 || item.partners.length > MAX_PARTNERS_PER_CONVERSION) {
      errors.push(userError("INVALID_INPUT", `name 1 to ${MAX_PARTNERS_PER_CONVERSION} partners`, at("partners")));
    }
    const partnerIds: string[] = [];
    item.partners.forEach((ref, i) => {
      const key = partners.keyOf(ref);
      const partner = key ? partners.byRef.get(key) : undefined;
      if (!partner) return;
      if (partnerIds.includes(partner.id)) errors.push(userError("INVALID_INPUT", "the same partner is named twice", [...at("partners"), String(i)]));
      partnerIds.push(partner.id);
    });
    if (!currency || !amount?.ok) return;
    const metadata = item.metadata ?? null;
    if (metadata && nestingDepth(metadata) > MAX_METADATA_DEPTH) {
      // Refused before it is hashed: hashing walks it recursively.
      errors.push(userError("INVALID_INPUT", `metadata nests more than ${MAX_METADATA_DEPTH} levels deep`, at("metadata")));
      return;
    }
    if (metadata && JSON.stringify(metadata).length > 16_384) errors.push(userError("INVALID_INPUT", "metadata is over 16 KB", at("metadata")));
    const sortedPartners = [...partnerIds].sort();
    checked.push({
      index,
      externalId,
      partnerIds,
      amount: amount.value,
      currency,
      rate,
      occurredAt: item.occurredAt,
      metadata,
      hash: contentHash({
        externalId,
        partners: sortedPartners,
        amount: amount.value.toFixed(),
        currency,
        rate: rate?.toFixed() ?? null,
        occurredAt: item.occurredAt.toISOString(),
        metadata,
      }),
    });
  });

  const existing = context.existing;
  const existingById = new Map(existing.map((row) => [row.externalId, row]));
  for (const item of checked) {
    const previous = existingById.get(item.externalId);
    if (previous && previous.contentHash !== item.hash) {
      errors.push(userError("IDEMPOTENCY_CONFLICT", `conversion "${item.externalId}" was recorded before with other content`, [...pathOf(item.index), "externalId"]));
    }
  }
  // Partner status matters only for sales we are about to accrue: a retry of an
  // accepted sale still answers with its first result.
  for (const item of checked) {
    if (existingById.has(item.externalId)) continue;
    item.partnerIds.forEach((id, i) => {
      const partner = partners.byRef.get(`id:${id}`);
      if (partner && partner.status !== "ACTIVE") {
        errors.push(userError("PARTNER_INACTIVE", `the partner is ${partner.status.toLowerCase()} and earns no new commissions`, [...pathOf(item.index), "partners", String(i)]));
      }
    });
  }
  if (errors.length > 0) throw new UserErrorsThrown(errors);

  const fresh = checked.filter((item) => !existingById.has(item.externalId));
  const results = new Map<string, RecordedConversion>(existing.map((row) => [row.externalId, { id: row.id, externalId: row.externalId, created: false }]));
  // Overrides as read with the partners: a rule change racing a sale applies from the next one.
  const overrides = new Map([...partners.byRef.values()].map((partner) => [partner.id, partner.commissionRuleOverride]));
  if (fresh.length > 0) await accrue(tx, program, fresh, overrides, results);
  return checked.map((item) => results.get(item.externalId)!);
}

/** A commission line about to be written. */
interface NewSaleLine {
  id: string;
  conversionId: string;
  partnerId: string;
  amount: Decimal;
  rule: CommissionRule;
  tierSequence: number | null;
  occurredAt: Date;
  payableAt: Date;
  matured: boolean;
}

/**
 * Round trips, in one transaction: BEGIN with the context (readContext;
 * the driver pipelines BEGIN, db/database.ts), one statement writing the
 * conversions with their commission lines and then the ledger's flush
 * (audit, balance lock in partner id order, movements, balance update,
 * events), COMMIT. Tiered rules number each sale among the partner's sales
 * of the month under the balance lock, so for them the conversions, the
 * lock and the count come before the lines and the flush (three more).
 */
async function accrue(tx: Tx, program: ProgramRow, fresh: Checked[], overrides: Map<string, unknown>, results: Map<string, RecordedConversion>): Promise<void> {
  const currency = program.currency as CurrencyCode;
  const ids = fresh.map(() => uuidv7());
  const saleAmounts = fresh.map((item) => (item.rate ? item.amount.times(item.rate) : item.amount));
  const ledger = new Ledger(tx, "conversion.record");
  const partnerIds = [...new Set(fresh.flatMap((item) => item.partnerIds))];
  const ruleOf = new Map(partnerIds.map((id) => [id, ruleForSale({ partnerOverride: overrides.get(id) as CommissionRule | null, programRule: program.commission_rule })]));
  const tieredPartners = partnerIds.filter((id) => ruleOf.get(id)!.type === "TIERED");
  const status = program.approval_mode === "AUTOMATIC" ? "APPROVED" : "PENDING";

  // The conversions go first, before any balance lock: a concurrent batch
  // with one of these ids makes this insert wait for it, then skip the row;
  // we then start over and find its conversion as an earlier post. When no
  // sale needs a number counted under the lock, their lines are inserted by
  // the same statement for the conversions it inserted, and the ledger's
  // flush is that statement too (its lock waits for the insert, and it
  // writes nothing unless every conversion was inserted).
  const sales = conversionsInsert(tx, fresh, ids, saleAmounts, currency);
  let lines: NewSaleLine[];
  // Without tiers the conversions and their lines go in the ledger's flush statement (below), run before anything of it.
  let written: { ctes: Prisma.Sql; holds: Prisma.Sql } | undefined;
  if (tieredPartners.length === 0) {
    lines = saleLines(tx, program, fresh, ids, saleAmounts, ruleOf, new Map());
    written = {
      ctes: Prisma.sql`inserted AS (${sales}), counted AS (${countAdded(tx)}),
                       lines AS (${linesInsert(tx, lines, status, currency)} WHERE l.conversion_id IN (SELECT id FROM inserted)),`,
      // A conversion id recorded meanwhile: the flush writes nothing and the transaction starts over.
      holds: Prisma.sql`(SELECT count(*) FROM inserted) = ${fresh.length}`,
    };
    ledger.lockAtFlush(partnerIds);
  } else {
    const inserted = await tx.db.$queryRaw<{ id: string; external_id: string }[]>`
      WITH inserted AS (${sales}), counted AS (${countAdded(tx)}) SELECT id::text, external_id FROM inserted`;
    if (inserted.length !== fresh.length) throw new RetryTransaction("a conversion id was recorded concurrently");
    await ledger.lockPartners(partnerIds);
    // Sale numbers for tiered rules, per partner and month, counted under the lock.
    const nextSale = new Map<string, number>();
    const months = fresh.map((item) => monthOf(item.occurredAt, program.time_zone));
    const from = new Date(Math.min(...months.map((m) => m.start.getTime())));
    const to = new Date(Math.max(...months.map((m) => m.end.getTime())));
    const counts = await tx.db.$queryRaw<{ partner_id: string; month: string; n: number }[]>`
      SELECT c.partner_id::text, to_char(date_trunc('month', c.occurred_at AT TIME ZONE ${program.time_zone}), 'YYYY-MM') AS month,
             count(*)::int AS n
        FROM commissions c JOIN conversions v ON v.id = c.conversion_id
       WHERE c.program_id = ${tx.programId}::uuid AND c.kind = 'CONVERSION' AND v.reversed_amount < v.amount
         AND c.partner_id = ANY(${tieredPartners}::uuid[]) AND c.occurred_at >= ${from} AND c.occurred_at < ${to}
       GROUP BY 1, 2`;
    for (const row of counts) nextSale.set(`${row.partner_id}/${row.month}`, row.n);
    lines = saleLines(tx, program, fresh, ids, saleAmounts, ruleOf, nextSale);
    await tx.db.$executeRaw`${linesInsert(tx, lines, status, currency)}`;
  }

  for (const line of lines) {
    ledger.move(line, null, { status, matured: line.matured, inOpenPayout: false });
    ledger.emit(line.partnerId, "commission.accrued", line.id, {
      id: line.id,
      partnerId: line.partnerId,
      kind: "CONVERSION",
      status,
      amount: line.amount.toFixed(),
      currency,
      conversionId: line.conversionId,
      relatedId: null,
      payableAt: line.payableAt.toISOString(),
      matured: line.matured,
    });
  }
  const linesOf = new Map<string, NewSaleLine[]>();
  for (const line of lines) linesOf.set(line.conversionId, [...(linesOf.get(line.conversionId) ?? []), line]);
  ledger.audit(
    ...fresh.map((item, i) => ({
      action: "conversion.record",
      entityType: "Conversion",
      entityId: ids[i]!,
      after: {
        externalId: item.externalId,
        amount: item.amount.toFixed(),
        currency: item.currency,
        exchangeRate: item.rate?.toFixed() ?? null,
        occurredAt: item.occurredAt.toISOString(),
        commissions: (linesOf.get(ids[i]!) ?? []).map((l) => ({ id: l.id, partnerId: l.partnerId, amount: l.amount.toFixed(), status })),
      },
    })),
  );
  // The last statement before COMMIT: its foreign-key checks keep their plans (Ledger.flush).
  await ledger.flush(written, { last: true });
  for (const [i, item] of fresh.entries()) {
    const row = (): ConversionRow => ({
      id: ids[i]!,
      programId: tx.programId,
      externalId: item.externalId,
      amount: new Prisma.Decimal(item.amount.toFixed()),
      currency: item.currency,
      exchangeRate: item.rate ? new Prisma.Decimal(item.rate.toFixed()) : null,
      programAmount: new Prisma.Decimal(roundToMinorUnit(saleAmounts[i]!, currency).toFixed()),
      reversedAmount: new Prisma.Decimal(0),
      occurredAt: item.occurredAt,
      metadata: (item.metadata ?? null) as ConversionRow["metadata"],
      contentHash: item.hash,
      createdAt: tx.now,
    });
    results.set(item.externalId, { id: ids[i]!, externalId: item.externalId, created: true, row });
  }
}

/** A line per (sale, partner) by the partner's rule; `nextSale` holds the sales counted so far per partner and month (tiered rules). */
function saleLines(
  tx: Tx,
  program: ProgramRow,
  fresh: Checked[],
  ids: string[],
  saleAmounts: Decimal[],
  ruleOf: Map<string, CommissionRule>,
  nextSale: Map<string, number>,
): NewSaleLine[] {
  const currency = program.currency as CurrencyCode;
  const lines: NewSaleLine[] = [];
  fresh.forEach((item, i) => {
    for (const partnerId of item.partnerIds) {
      const rule = ruleOf.get(partnerId)!;
      let saleNumber = 1;
      if (rule.type === "TIERED") {
        const key = `${partnerId}/${monthOf(item.occurredAt, program.time_zone).key}`;
        saleNumber = (nextSale.get(key) ?? 0) + 1;
        nextSale.set(key, saleNumber);
      }
      const quote = computeCommission(rule, { amount: saleAmounts[i]!, currency, saleNumber });
      const payableAt = addDays(item.occurredAt, program.hold_period_days, program.time_zone);
      lines.push({
        id: uuidv7(),
        conversionId: ids[i]!,
        partnerId,
        amount: quote.amount,
        rule,
        tierSequence: rule.type === "TIERED" ? saleNumber : null,
        occurredAt: item.occurredAt,
        payableAt,
        matured: payableAt.getTime() <= tx.now.getTime(),
      });
    }
  });
  return lines;
}

/** The conversions' INSERT, skipping any externalId recorded meanwhile; returns the ids it inserted. */
function conversionsInsert(tx: Tx, fresh: Checked[], ids: string[], saleAmounts: Decimal[], currency: CurrencyCode): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO conversions (id, program_id, external_id, amount, currency, exchange_rate, program_amount, occurred_at, metadata, content_hash, created_at)
    SELECT c.id, ${tx.programId}::uuid, c.external_id, c.amount, c.currency, c.rate, c.program_amount, c.occurred_at, c.metadata, c.hash, ${tx.now}
      FROM unnest(${ids}::uuid[], ${fresh.map((i) => i.externalId)}::text[], ${fresh.map((i) => i.amount.toFixed())}::numeric[],
                  ${fresh.map((i) => i.currency)}::text[], ${fresh.map((i) => i.rate?.toFixed() ?? null)}::numeric[],
                  ${saleAmounts.map((a) => roundToMinorUnit(a, currency).toFixed())}::numeric[], ${fresh.map((i) => i.occurredAt)}::timestamptz[],
                  ${fresh.map((i) => (i.metadata ? JSON.stringify(i.metadata) : null))}::jsonb[], ${fresh.map((i) => i.hash)}::text[])
           AS c(id, external_id, amount, currency, rate, program_amount, occurred_at, metadata, hash)
    ON CONFLICT (program_id, external_id) DO NOTHING
    RETURNING id, external_id`;
}

/**
 * Adds the conversions of the CTE `inserted` to the program's count
 * (conversion_counts), in one of its 16 slots at random: batches running at
 * once seldom wait on each other's slot.
 */
function countAdded(tx: Tx): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO conversion_counts (program_id, slot, conversions)
    SELECT ${tx.programId}::uuid, ${randomInt(16)}, count(*) FROM inserted HAVING count(*) > 0
    ON CONFLICT (program_id, slot) DO UPDATE SET conversions = conversion_counts.conversions + excluded.conversions`;
}

/** The lines' INSERT (a WHERE on `l` may follow). */
function linesInsert(tx: Tx, lines: NewSaleLine[], status: string, currency: CurrencyCode): Prisma.Sql {
  // A partner's lines share its rule's object (ruleOf): its JSON is written once.
  const ruleJson = new Map<CommissionRule, string>();
  const jsonOf = (rule: CommissionRule) => {
    let text = ruleJson.get(rule);
    if (text === undefined) ruleJson.set(rule, (text = JSON.stringify(rule)));
    return text;
  };
  return Prisma.sql`
    INSERT INTO commissions (id, program_id, partner_id, conversion_id, kind, status, amount, currency, rule, tier_sequence,
                             occurred_at, payable_at, matured, created_by, created_at, updated_at)
    SELECT l.id, ${tx.programId}::uuid, l.partner_id, l.conversion_id, 'CONVERSION', ${status}::"CommissionStatus", l.amount, ${currency},
           l.rule, l.tier_sequence, l.occurred_at, l.payable_at, l.matured, ${tx.actor.id}, ${tx.now}, ${tx.now}
      FROM unnest(${lines.map((l) => l.id)}::uuid[], ${lines.map((l) => l.partnerId)}::uuid[], ${lines.map((l) => l.conversionId)}::uuid[],
                  ${lines.map((l) => l.amount.toFixed())}::numeric[], ${lines.map((l) => jsonOf(l.rule))}::jsonb[],
                  ${lines.map((l) => l.tierSequence)}::int[], ${lines.map((l) => l.occurredAt)}::timestamptz[],
                  ${lines.map((l) => l.payableAt)}::timestamptz[], ${lines.map((l) => l.matured)}::boolean[])
           AS l(id, partner_id, conversion_id, amount, rule, tier_sequence, occurred_at, payable_at, matured)`;
}
