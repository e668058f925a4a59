import { GraphQLError } from "graphql";
import type { IncomingMessage, ServerResponse } from "node:http";
import { DateTime, IANAZone } from "luxon";
import type { Authenticator } from "../auth/authenticate.ts";
import type { Viewer } from "../auth/viewer.ts";
import type { Realtime } from "../realtime/realtime.ts";
import { createContext, type Context } from "../context.ts";
import { maskSecret } from "../domain/payout-method.ts";
import { MAX_YEAR, MIN_YEAR, parseInstant, parseLocalDate } from "../domain/iso-8601.ts";
import { dec, formatAmount } from "../domain/money.ts";
import type { CurrencyCode } from "../domain/currency.ts";
import { payees1099 } from "../domain/tax-1099.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { decodeGlobalId } from "../graphql/global-ids.ts";
import { audit, transact, type ServiceDeps } from "../services/runtime.ts";
import { paged, streamCsv, type CsvCell } from "./csv.ts";

/**
 * CSV exports over HTTP, with the API's bearer tokens and the same tenancy:
 * every read goes through the viewer's scoped client, so a partner's token
 * exports its own records only, whatever it asks for.
 *
 *   GET /exports/payouts.csv?status=PAID&partnerId=…&paidAfter=…&paidBefore=…
 *   GET /exports/commissions.csv?status=APPROVED&kind=…&partnerId=…&occurredAfter=…&occurredBefore=…
 *   GET /exports/paypal-payouts.csv?payoutIds=…,…      PayPal Payouts upload file (approved payouts)
 *   GET /exports/statement.csv?partnerId=…&from=2026-03-01&to=2026-03-31   (dates in program time, inclusive)
 *   GET /exports/1099-nec.csv?year=2026
 */
const PAGE = 500;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const OPERATORS = ["admin", "finance", "analyst"];

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Query = URLSearchParams;

function allow(viewer: Viewer | null, roles: string[], scope?: string): void {
  if (!viewer) throw new HttpError(401, "UNAUTHENTICATED", "Authentication required: send a bearer token.");
  if (roles.includes(viewer.role)) return;
  if (scope && viewer.role === "integration" && viewer.scopes.has(scope as never)) return;
  throw new HttpError(403, "FORBIDDEN", "You are not allowed to do this.");
}

function globalIdOf(type: string, id: string): string {
  return Buffer.from(`${type}:${id}`).toString("base64");
}

/** The API's global ids, read as the API reads them (global-ids.ts): `Type:uuid` or a 400. */
function rawId(value: string | null, type: string, param: string): string | undefined {
  if (!value) return undefined;
  let decoded: { typename: string; id: string } | undefined;
  try {
    decoded = decodeGlobalId(value);
  } catch {
    decoded = undefined;
  }
  if (decoded?.typename !== type) throw new HttpError(400, "BAD_USER_INPUT", `${param} is not a ${type} id`);
  return decoded.id;
}

/** An ISO 8601 date (midnight UTC) or date-time with offset; nothing looser (see iso-8601.ts). */
function instant(value: string | null, param: string): Date | undefined {
  if (!value) return undefined;
  const date = DATE_ONLY.test(value) ? (parseLocalDate(value) && new Date(`${value}T00:00:00Z`)) : parseInstant(value);
  if (!date) {
    throw new HttpError(400, "BAD_USER_INPUT", `${param} is an ISO 8601 date or date-time, like 2026-03-01 or 2026-03-01T00:00:00Z, in the years ${MIN_YEAR} to ${MAX_YEAR}`);
  }
  return date;
}

function list<T extends string>(value: string | null, allowed: readonly T[], param: string): T[] | undefined {
  if (!value) return undefined;
  const items = value.split(",").map((item) => item.trim());
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0) throw new HttpError(400, "BAD_USER_INPUT", `${param} takes ${allowed.join(", ")}`);
  return items as T[];
}

/** Only a partner's own id may be named by a partner, as in the API. */
function partnerFilter(ctx: Context, query: Query): string | undefined {
  const partnerId = rawId(query.get("partnerId"), "Partner", "partnerId");
  if (partnerId && ctx.viewer?.role === "partner" && ctx.viewer.partnerId !== partnerId) throw new HttpError(403, "FORBIDDEN", "Partners can only see their own records.");
  return partnerId;
}

async function programOf(ctx: Context) {
  return ctx.db.program.findUniqueOrThrow({ where: { id: ctx.actor!.programId }, select: { id: true, currency: true, timeZone: true, name: true } });
}

const money = (amount: { toFixed(): string } | null | undefined, currency: string) => (amount == null ? null : formatAmount(dec(amount), currency as CurrencyCode));

async function payoutsCsv(ctx: Context, res: ServerResponse, query: Query): Promise<void> {
  allow(ctx.viewer, [...OPERATORS, "partner"], "payouts:read");
  const where: Prisma.PayoutWhereInput = {};
  const status = list(query.get("status"), ["DRAFT", "APPROVED", "PAID", "CANCELLED"] as const, "status");
  if (status) where.status = { in: status };
  const partnerId = partnerFilter(ctx, query);
  if (partnerId) where.partnerId = partnerId;
  const paidAfter = instant(query.get("paidAfter"), "paidAfter");
  const paidBefore = instant(query.get("paidBefore"), "paidBefore");
  if (paidAfter || paidBefore) where.paidAt = { ...(paidAfter ? { gte: paidAfter } : {}), ...(paidBefore ? { lt: paidBefore } : {}) };
  const rows = paged(
    (after) =>
      ctx.db.payout.findMany({
        where: { ...where, ...(after ? { id: { gt: after } } : {}) },
        orderBy: { id: "asc" },
        take: PAGE,
        include: { partner: { select: { name: true, externalId: true } }, _count: { select: { items: { where: { active: true } } } } },
      }),
    (row) => row.id,
  );
  await streamCsv(
    res,
    "payouts.csv",
    ["payout_id", "partner_id", "partner_name", "partner_external_id", "status", "amount", "currency", "lines", "method", "reference", "created_at", "approved_at", "paid_at", "cancelled_at", "bounced_at"],
    (async function* () {
      for await (const p of rows) {
        yield [
          globalIdOf("Payout", p.id),
          globalIdOf("Partner", p.partnerId),
          p.partner.name,
          p.partner.externalId,
          p.status,
          money(p.amount, p.currency),
          p.currency,
          p._count.items,
          p.method,
          p.reference,
          p.createdAt,
          p.approvedAt,
          p.paidAt,
          p.cancelledAt,
          p.bouncedAt,
        ] satisfies CsvCell[];
      }
    })(),
  );
}

async function commissionsCsv(ctx: Context, res: ServerResponse, query: Query): Promise<void> {
  allow(ctx.viewer, [...OPERATORS, "partner"], "commissions:read");
  const where: Prisma.CommissionWhereInput = {};
  const status = list(query.get("status"), ["PENDING", "APPROVED", "ON_HOLD", "CANCELLED", "PAID", "REVERSED"] as const, "status");
  if (status) where.status = { in: status };
  const kind = list(query.get("kind"), ["CONVERSION", "ADJUSTMENT", "CREDIT", "REVERSAL", "CLAWBACK", "WRITE_OFF"] as const, "kind");
  if (kind) where.kind = { in: kind };
  const partnerId = partnerFilter(ctx, query);
  if (partnerId) where.partnerId = partnerId;
  const from = instant(query.get("occurredAfter"), "occurredAfter");
  const to = instant(query.get("occurredBefore"), "occurredBefore");
  if (from || to) where.occurredAt = { ...(from ? { gte: from } : {}), ...(to ? { lt: to } : {}) };
  const rows = paged(
    (after) =>
      ctx.db.commission.findMany({
        where: { ...where, ...(after ? { id: { gt: after } } : {}) },
        orderBy: { id: "asc" },
        take: PAGE,
        include: { partner: { select: { name: true, externalId: true } }, conversion: { select: { externalId: true } } },
      }),
    (row) => row.id,
  );
  await streamCsv(
    res,
    "commissions.csv",
    ["commission_id", "partner_id", "partner_name", "partner_external_id", "kind", "status", "amount", "currency", "conversion_external_id", "occurred_at", "payable_at", "paid_at", "reason_code", "note"],
    (async function* () {
      for await (const c of rows) {
        yield [
          globalIdOf("Commission", c.id),
          globalIdOf("Partner", c.partnerId),
          c.partner.name,
          c.partner.externalId,
          c.kind,
          c.status,
          money(c.amount, c.currency),
          c.currency,
          c.conversion?.externalId ?? null,
          c.occurredAt,
          c.payableAt,
          c.paidAt,
          c.reasonCode,
          c.note,
        ] satisfies CsvCell[];
      }
    })(),
  );
}

/**
 * PayPal's Payouts upload file for approved payouts whose partner's default
 * method is PayPal. Payouts that do not qualify are left out and named in the
 * `x-accrue-skipped` header (id:reason), so the file never pays the wrong way.
 */
async function paypalCsv(ctx: Context, res: ServerResponse, query: Query): Promise<void> {
  allow(ctx.viewer, ["admin", "finance"], "payouts:write");
  const ids = (query.get("payoutIds") ?? "").split(",").filter(Boolean).map((id) => rawId(id, "Payout", "payoutIds")!);
  if (ids.length === 0 || ids.length > 5000) throw new HttpError(400, "BAD_USER_INPUT", "payoutIds takes 1 to 5000 payout ids, comma-separated");
  const payouts = await ctx.db.payout.findMany({
    where: { id: { in: ids } },
    orderBy: { id: "asc" },
    include: { partner: { select: { name: true, payoutMethods: { where: { isDefault: true }, select: { type: true, details: true } } } } },
  });
  const skipped: string[] = ids.filter((id) => !payouts.some((p) => p.id === id)).map((id) => `${globalIdOf("Payout", id)}:NOT_FOUND`);
  const rows: CsvCell[][] = [];
  for (const p of payouts) {
    const method = p.partner.payoutMethods[0];
    const email = method?.type === "PAYPAL" ? ((method.details as Record<string, string>).email ?? null) : null;
    if (p.status !== "APPROVED") skipped.push(`${globalIdOf("Payout", p.id)}:NOT_APPROVED`);
    else if (!email) skipped.push(`${globalIdOf("Payout", p.id)}:NO_PAYPAL_METHOD`);
    else rows.push([email, money(p.amount, p.currency), p.currency, globalIdOf("Payout", p.id), `Commission payout for ${p.partner.name}`, "PayPal"]);
  }
  if (skipped.length > 0) res.setHeader("x-accrue-skipped", skipped.join(","));
  await streamCsv(res, "paypal-payouts.csv", ["Email/Phone", "Amount", "Currency code", "Reference ID", "Note to recipient", "Recipient wallet"], (async function* () {
    yield* rows;
  })());
}

function dateParam(value: string | null, param: string, zone: string): DateTime {
  if (!value || !DATE_ONLY.test(value)) throw new HttpError(400, "BAD_USER_INPUT", `${param} is a date like 2026-03-01`);
  const date = DateTime.fromISO(value, { zone });
  if (!parseLocalDate(value) || !date.isValid) throw new HttpError(400, "BAD_USER_INPUT", `${param} is not a real date in the years ${MIN_YEAR} to ${MAX_YEAR}`);
  return date;
}

/**
 * A partner's statement for a period (program time, both dates inclusive):
 * the opening balance, every line that occurred in the period, every payout
 * paid in it, and the closing balance. "Balance" here is what was earned
 * (lines that count) less what was paid.
 */
async function statementCsv(ctx: Context, res: ServerResponse, query: Query): Promise<void> {
  allow(ctx.viewer, [...OPERATORS, "partner"]);
  const partnerId = partnerFilter(ctx, query) ?? (ctx.viewer?.role === "partner" ? ctx.viewer.partnerId : undefined);
  if (!partnerId) throw new HttpError(400, "BAD_USER_INPUT", "partnerId is required");
  const program = await programOf(ctx);
  const from = dateParam(query.get("from"), "from", program.timeZone).startOf("day");
  const to = dateParam(query.get("to"), "to", program.timeZone).endOf("day");
  if (to < from) throw new HttpError(400, "BAD_USER_INPUT", "to is before from");
  const partner = await ctx.db.partner.findUnique({ where: { id: partnerId }, select: { name: true } });
  if (!partner) throw new HttpError(404, "NOT_FOUND", "no such partner");
  const start = from.toJSDate();
  const end = to.plus({ milliseconds: 1 }).toJSDate();
  const counting = { partnerId, status: { notIn: ["CANCELLED", "REVERSED"] } } satisfies Prisma.CommissionWhereInput;
  const [earnedBefore, paidBefore, lines, payouts] = await Promise.all([
    ctx.db.commission.aggregate({ where: { ...counting, occurredAt: { lt: start } }, _sum: { amount: true } }),
    ctx.db.payout.aggregate({ where: { partnerId, status: "PAID", paidAt: { lt: start } }, _sum: { amount: true } }),
    ctx.db.commission.findMany({ where: { partnerId, occurredAt: { gte: start, lt: end } }, orderBy: [{ occurredAt: "asc" }, { id: "asc" }], include: { conversion: { select: { externalId: true } } } }),
    ctx.db.payout.findMany({ where: { partnerId, status: "PAID", paidAt: { gte: start, lt: end } }, orderBy: [{ paidAt: "asc" }, { id: "asc" }] }),
  ]);
  const currency = program.currency;
  let balance = dec(earnedBefore._sum.amount ?? "0").minus(dec(paidBefore._sum.amount ?? "0"));
  const entries: { at: Date; row: (running: string) => CsvCell[]; delta: ReturnType<typeof dec> }[] = [
    ...lines.map((line) => {
      const counts = line.status !== "CANCELLED" && line.status !== "REVERSED";
      return {
        at: line.occurredAt,
        delta: counts ? dec(line.amount) : dec("0"),
        row: (running: string) => [line.occurredAt, line.kind, line.conversion?.externalId ?? globalIdOf("Commission", line.id), line.note ?? line.reasonCode, line.status, money(line.amount, currency), running],
      };
    }),
    ...payouts.map((payout) => ({
      at: payout.paidAt!,
      delta: dec(payout.amount).negated(),
      row: (running: string) => [payout.paidAt, "PAYOUT", payout.reference ?? globalIdOf("Payout", payout.id), payout.method, payout.status, money(dec(payout.amount).negated(), currency), running],
    })),
  ].sort((a, b) => a.at.getTime() - b.at.getTime());
  const fmt = (value: ReturnType<typeof dec>) => money(value, currency)!;
  const safeName = partner.name.replace(/[^\w.-]+/g, "-").slice(0, 60);
  await streamCsv(
    res,
    `statement-${safeName}-${from.toISODate()}-${to.toISODate()}.csv`,
    ["date", "type", "reference", "description", "status", "amount", "balance"],
    (async function* () {
      yield [start, "OPENING_BALANCE", null, `${partner.name}, ${program.name}`, null, null, fmt(balance)];
      for (const entry of entries) {
        balance = balance.plus(entry.delta);
        yield entry.row(fmt(balance));
      }
      yield [to.toJSDate(), "CLOSING_BALANCE", null, null, null, null, fmt(balance)];
    })(),
  );
}

/**
 * The yearly 1099-NEC report: US partners with a W-9 on file paid at least
 * the tax year's threshold, by paid date in program time, leaving out
 * payouts through PayPal and Venmo (their networks report them on 1099-K)
 * and payouts whose money came back. The TIN is masked, except for an admin
 * asking `reveal=tin` (audited).
 */
async function tax1099Csv(ctx: Context, res: ServerResponse, query: Query, deps: ServiceDeps): Promise<void> {
  allow(ctx.viewer, OPERATORS);
  const yearText = query.get("year") ?? "";
  const year = /^\d{4}$/.test(yearText) ? Number(yearText) : Number.NaN;
  if (!Number.isInteger(year) || year < 2000 || year > 2100) throw new HttpError(400, "BAD_USER_INPUT", "year is a tax year like 2026");
  const reveal = query.get("reveal") === "tin";
  if (reveal && ctx.viewer?.role !== "admin") throw new HttpError(403, "FORBIDDEN", "Only an admin may export full tax ids.");
  const program = await programOf(ctx);
  if (!IANAZone.isValidZone(program.timeZone)) throw new Error("program time zone");
  const yearStart = DateTime.fromObject({ year }, { zone: program.timeZone });
  const payouts = await ctx.db.payout.findMany({
    where: { status: "PAID", bouncedAt: null, paidAt: { gte: yearStart.toJSDate(), lt: yearStart.plus({ years: 1 }).toJSDate() } },
    select: { partnerId: true, amount: true, method: true, paidAt: true },
  });
  const profiles = new Map(
    (await ctx.db.billingProfile.findMany({ where: { partnerId: { in: [...new Set(payouts.map((p) => p.partnerId))] } } })).map((profile) => [profile.partnerId, profile]),
  );
  const payees = payees1099(
    payouts.map((p) => ({ partnerId: p.partnerId, amount: p.amount.toFixed(), method: p.method, paidAt: p.paidAt! })),
    { year, timeZone: program.timeZone, eligible: (id) => profiles.get(id)?.taxForm === "W9" && profiles.get(id)?.country === "US", thresholds: deps.tax1099Thresholds },
  );
  if (reveal) {
    await transact(deps, ctx.actor!, (tx) =>
      audit(tx, { action: "tax_report.export_1099_nec", entityType: "Program", entityId: tx.programId, after: { year, payees: payees.length, revealedTins: true } }),
    );
  }
  await streamCsv(
    res,
    `1099-nec-${year}.csv`,
    ["partner_id", "legal_name", "entity_type", "tin", "address_line1", "address_line2", "city", "state", "postal_code", "country", "nonemployee_compensation", "currency", "payouts"],
    (async function* () {
      for (const payee of payees) {
        const b = profiles.get(payee.partnerId)!;
        yield [
          globalIdOf("Partner", payee.partnerId),
          b.legalName,
          b.entityType,
          reveal && b.taxId ? deps.secrets.open(b.taxId) : maskSecret(b.taxIdLast4),
          b.addressLine1,
          b.addressLine2,
          b.city,
          b.region,
          b.postalCode,
          b.country,
          money(payee.total, program.currency),
          program.currency,
          payee.payoutCount,
        ] satisfies CsvCell[];
      }
    })(),
  );
}

const ROUTES: Record<string, (ctx: Context, res: ServerResponse, query: Query, deps: ServiceDeps) => Promise<void>> = {
  "/exports/payouts.csv": payoutsCsv,
  "/exports/commissions.csv": commissionsCsv,
  "/exports/paypal-payouts.csv": paypalCsv,
  "/exports/statement.csv": statementCsv,
  "/exports/1099-nec.csv": tax1099Csv,
};

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/** Handles /exports/*; answers errors as JSON in the GraphQL error shape. */
export function createExportsHandler(deps: ServiceDeps, auth: Authenticator, realtime: Realtime) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://exports");
    const route = ROUTES[url.pathname];
    try {
      if (req.method !== "GET") throw new HttpError(405, "METHOD_NOT_ALLOWED", "exports are read with GET");
      if (!route) throw new HttpError(404, "NOT_FOUND", `no export at ${url.pathname}; see ${Object.keys(ROUTES).join(", ")}`);
      // As for GraphQL inputs (use-nul-character-guard.ts): PostgreSQL text cannot hold NUL.
      for (const [name, value] of url.searchParams) {
        if (name.includes("\0") || value.includes("\0")) throw new HttpError(400, "BAD_USER_INPUT", `${name.replaceAll("\0", "")} contains a NUL character, which text here cannot hold`);
      }
      let viewer: Viewer | null;
      try {
        viewer = await auth.viewerFromHeader(req.headers.authorization);
      } catch (error) {
        if (error instanceof GraphQLError) throw new HttpError(401, "UNAUTHENTICATED", error.message);
        throw error;
      }
      if (viewer?.role === "platform") throw new HttpError(403, "FORBIDDEN", "Exports belong to a program.");
      await route(createContext(deps, viewer, realtime), res, url.searchParams, deps);
    } catch (error) {
      if (error instanceof HttpError) return sendError(res, error.status, error.code, error.message);
      deps.logger.error({ err: error, path: url.pathname }, "export failed");
      sendError(res, 500, "INTERNAL_SERVER_ERROR", "Unexpected error.");
    }
  };
}
