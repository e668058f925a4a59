import { encodeGlobalId } from "../graphql/global-ids.ts";
import { GraphQLError } from "graphql";
import type { IncomingMessage, ServerResponse } from "node:http";
import { DateTime, IANAZone } from "luxon";
import type { Authenticator } from "../auth/authenticate.ts";
import { EXPORT_RULES, mayExport, mayNamePartner, mayRead, NAMES_OTHER_PARTNER, scopesForExport, type ExportName } from "../auth/read-rules.ts";
import type { Viewer } from "../auth/viewer.ts";
import type { Realtime } from "../realtime/realtime.ts";
import { createContext, type Context } from "../context.ts";
import { maskSecret } from "../domain/payout-method.ts";
import { MAX_YEAR, MIN_YEAR, parseLocalDate } from "../domain/iso-8601.ts";
import { dec, formatAmount } from "../domain/money.ts";
import type { CurrencyCode } from "../domain/currency.ts";
import { Payees1099Tally } from "../domain/tax-1099.ts";
import type { BillingProfile } from "../generated/prisma/client.ts";
import { expectedFailure } from "../graphql/error-codes.ts";
import { decodeGlobalId } from "../graphql/global-ids.ts";
import { commissionWhere } from "../services/commissions/commission-filter.ts";
import { readStatement } from "../services/ledger/read-statement.ts";
import { payoutWhere } from "../services/payouts/payout-filter.ts";
import type { ServiceDeps } from "../services/deps.ts";
import { recordTinExport } from "../services/tax/record-tin-export.ts";
import { paged, streamCsv, type CsvCell } from "./csv.ts";
import { parseCommissionQuery, parsePayoutQuery, QueryParameterError } from "./list-queries.ts";

/**
 * CSV exports over HTTP, with the API's bearer tokens and the same tenancy:
 * every read goes through the viewer's scoped client, so a partner's token
 * exports its own records only, whatever it asks for.
 *
 *   GET /exports/payouts.csv?status=PAID&partnerId=…&paidAfter=…&paidBefore=…
 *   GET /exports/commissions.csv?status=APPROVED&kind=…&partnerId=…&conversionId=…&occurredAfter=…&occurredBefore=…&payableBefore=…&payable=true
 *   GET /exports/paypal-payouts.csv?payoutIds=…,…      PayPal Payouts upload file (approved payouts)
 *   GET /exports/statement.csv?partnerId=…&from=2026-03-01&to=2026-03-31   (dates in program time, inclusive)
 *   GET /exports/1099-nec.csv?year=2026
 *
 * The two lists are thin adapters over the GraphQL lists: the query string
 * is parsed with zod (list-queries.ts) into the very filter the `payouts`
 * and `commissions` lists build their query from (services/payouts/payout-filter.ts,
 * services/commissions/commission-filter.ts), so a filter selects the same
 * rows on both paths; a bad value is a 400 naming the parameter.
 *
 * Who may download what is read-rules.ts, the rules the GraphQL types and
 * fields apply too (one source, so the two paths cannot drift): an export
 * needs every kind of record it lists (`payouts:read` for payouts.csv,
 * `commissions:read` for commissions.csv, as the `payouts` and `commissions`
 * lists), and a column holding another record's fields is filled only when
 * the viewer may read that record: partner name and external id with
 * `partners:read`, a conversion's external id with `conversions:read`. Write
 * scopes read only in their own mutations' payloads, so they fill nothing
 * here. Withheld columns stay in the header, empty, and are named in the
 * `x-accrue-withheld-columns` response header, so a parser sees one shape
 * whatever the scopes. The PayPal file is payouts with their partners'
 * payment details (email, name): it needs `payouts:read` and
 * `partners:read`. Statements and the 1099 report are for operators (and a
 * partner's own statement), not integrations.
 */
const PAGE = 500;
/** Payouts tallied per query for the 1099 report (a row is four small columns). */
const TAX_PAGE = 5000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

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

function deny(viewer: Viewer | null, message = "You are not allowed to do this."): never {
  if (!viewer) throw new HttpError(401, "UNAUTHENTICATED", "Authentication required: send a bearer token.");
  throw new HttpError(403, "FORBIDDEN", message);
}

/** Lets through whoever may download the export (read-rules.ts, the rules GraphQL applies too). */
function allow(viewer: Viewer | null, name: ExportName): void {
  if (mayExport(viewer, name)) return;
  const groups = scopesForExport(name).filter((group) => group.length > 0);
  const scopesHelp = viewer?.role === "integration" && groups.length > 0 && mayExport({ ...viewer, scopes: new Set(groups.flat()) }, name);
  deny(viewer, scopesHelp ? `This export needs the scopes ${groups.map((group) => group.join(" or ")).join(" and ")}.` : undefined);
}

/** Names the columns left empty for this viewer (see the module comment). */
function withhold(res: ServerResponse, columns: string[]): void {
  if (columns.length > 0) res.setHeader("x-accrue-withheld-columns", columns.join(","));
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

/** A query string the list's filter refuses: a 400 naming the parameter (list-queries.ts). */
function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof QueryParameterError) throw new HttpError(400, "BAD_USER_INPUT", error.message);
    throw error;
  }
}

/** A partner names only itself in a filter (read-rules.ts, as GraphQL's lists). */
function mayName(ctx: Context, partnerId: string | null | undefined): void {
  if (partnerId && !mayNamePartner(ctx.viewer, partnerId)) throw new HttpError(403, "FORBIDDEN", NAMES_OTHER_PARTNER);
}

/** Only a partner's own id may be named by a partner, as in the API. */
function partnerFilter(ctx: Context, query: Query): string | undefined {
  const partnerId = rawId(query.get("partnerId"), "Partner", "partnerId");
  mayName(ctx, partnerId);
  return partnerId;
}

async function programOf(ctx: Context) {
  const program = await ctx.db.program.findUniqueOrThrow({ where: { id: ctx.actor!.programId }, select: { id: true, currency: true, timeZone: true, name: true } });
  // An unknown zone would turn every date into NaN and every filter into nothing.
  if (!IANAZone.isValidZone(program.timeZone)) throw new Error(`program time zone "${program.timeZone}"`);
  return program;
}

const money = (amount: { toFixed(): string } | null | undefined, currency: string) => (amount == null ? null : formatAmount(dec(amount), currency as CurrencyCode));

async function payoutsCsv(ctx: Context, res: ServerResponse, query: Query): Promise<void> {
  // As the `payouts` list: operators, a partner (its own), or payouts:read; the same filter.
  allow(ctx.viewer, "payouts");
  const program = await programOf(ctx);
  const filter = parsed(() => parsePayoutQuery(query, program.timeZone));
  mayName(ctx, filter.partnerId);
  const where = payoutWhere(filter);
  // Payout.partner is a Partner: GraphQL refuses it to tokens that may not read partners.
  const partners = mayRead(ctx.viewer, EXPORT_RULES.payouts.columns.partner);
  withhold(res, partners ? [] : ["partner_name", "partner_external_id"]);
  const rows = paged(
    (after) =>
      ctx.db.payout.findMany({
        where: { ...where, ...(after ? { id: { gt: after } } : {}) },
        orderBy: { id: "asc" },
        take: PAGE,
        include: { partner: partners ? { select: { name: true, externalId: true } } : false, _count: { select: { items: { where: { active: true } } } } },
      }),
    (row) => row.id,
  );
  await streamCsv(
    res,
    "payouts.csv",
    [
      "payout_id",
      "partner_id",
      "partner_name",
      "partner_external_id",
      "status",
      "amount",
      "currency",
      "lines",
      "method",
      "reference",
      "created_at",
      "approved_at",
      "paid_at",
      "cancelled_at",
      "bounced_at",
    ],
    (async function* () {
      for await (const p of rows) {
        const partner = (p as { partner?: { name: string; externalId: string | null } }).partner;
        yield [
          encodeGlobalId("Payout", p.id),
          encodeGlobalId("Partner", p.partnerId),
          partner?.name,
          partner?.externalId,
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
  // As the `commissions` list: operators, a partner (its own), or commissions:read; the same filter.
  allow(ctx.viewer, "commissions");
  const program = await programOf(ctx);
  const filter = parsed(() => parseCommissionQuery(query, program.timeZone));
  mayName(ctx, filter.partnerId);
  const where = commissionWhere(filter, ctx.deps.clock.now());
  // Commission.partner and Commission.conversion are records of their own in GraphQL, each with its readers.
  const partners = mayRead(ctx.viewer, EXPORT_RULES.commissions.columns.partner);
  const conversions = mayRead(ctx.viewer, EXPORT_RULES.commissions.columns.conversion);
  withhold(res, [...(partners ? [] : ["partner_name", "partner_external_id"]), ...(conversions ? [] : ["conversion_external_id"])]);
  const rows = paged(
    (after) =>
      ctx.db.commission.findMany({
        where: { ...where, ...(after ? { id: { gt: after } } : {}) },
        orderBy: { id: "asc" },
        take: PAGE,
        include: {
          partner: partners ? { select: { name: true, externalId: true } } : false,
          conversion: conversions ? { select: { externalId: true } } : false,
        },
      }),
    (row) => row.id,
  );
  await streamCsv(
    res,
    "commissions.csv",
    [
      "commission_id",
      "partner_id",
      "partner_name",
      "partner_external_id",
      "kind",
      "status",
      "amount",
      "currency",
      "conversion_external_id",
      "occurred_at",
      "payable_at",
      "paid_at",
      "reason_code",
      "note",
    ],
    (async function* () {
      for await (const c of rows) {
        const related = c as { partner?: { name: string; externalId: string | null }; conversion?: { externalId: string } | null };
        yield [
          encodeGlobalId("Commission", c.id),
          encodeGlobalId("Partner", c.partnerId),
          related.partner?.name,
          related.partner?.externalId,
          c.kind,
          c.status,
          money(c.amount, c.currency),
          c.currency,
          related.conversion?.externalId ?? null,
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
 *
 * Every row is a partner's payment details (PayPal email, name): an
 * integration needs `payouts:read` (payouts and payment details) and a scope
 * that reads partners, as GraphQL reaches them only through Payout.partner.
 * `payouts:write` alone moves payouts but reads none of this.
 */
async function paypalCsv(ctx: Context, res: ServerResponse, query: Query): Promise<void> {
  allow(ctx.viewer, "paypalPayouts");
  const ids = (query.get("payoutIds") ?? "")
    .split(",")
    .filter(Boolean)
    .map((id) => rawId(id, "Payout", "payoutIds")!);
  if (ids.length === 0 || ids.length > 5000) throw new HttpError(400, "BAD_USER_INPUT", "payoutIds takes 1 to 5000 payout ids, comma-separated");
  const payouts = await ctx.db.payout.findMany({
    where: { id: { in: ids } },
    orderBy: { id: "asc" },
    include: { partner: { select: { name: true, payoutMethods: { where: { isDefault: true }, select: { type: true, details: true } } } } },
  });
  const skipped: string[] = ids.filter((id) => !payouts.some((p) => p.id === id)).map((id) => `${encodeGlobalId("Payout", id)}:NOT_FOUND`);
  const rows: CsvCell[][] = [];
  for (const p of payouts) {
    const method = p.partner.payoutMethods[0];
    const email = method?.type === "PAYPAL" ? ((method.details as Record<string, string>).email ?? null) : null;
    if (p.status !== "APPROVED") skipped.push(`${encodeGlobalId("Payout", p.id)}:NOT_APPROVED`);
    else if (!email) skipped.push(`${encodeGlobalId("Payout", p.id)}:NO_PAYPAL_METHOD`);
    else rows.push([email, money(p.amount, p.currency), p.currency, encodeGlobalId("Payout", p.id), `Commission payout for ${p.partner.name}`, "PayPal"]);
  }
  if (skipped.length > 0) res.setHeader("x-accrue-skipped", skipped.join(","));
  await streamCsv(
    res,
    "paypal-payouts.csv",
    ["Email/Phone", "Amount", "Currency code", "Reference ID", "Note to recipient", "Recipient wallet"],
    (async function* () {
      yield* rows;
    })(),
  );
}

function dateParam(value: string | null, param: string, zone: string): DateTime {
  if (!value || !DATE_ONLY.test(value)) throw new HttpError(400, "BAD_USER_INPUT", `${param} is a date like 2026-03-01`);
  const date = DateTime.fromISO(value, { zone });
  if (!parseLocalDate(value) || !date.isValid) throw new HttpError(400, "BAD_USER_INPUT", `${param} is not a real date in the years ${MIN_YEAR} to ${MAX_YEAR}`);
  return date;
}

/**
 * A partner's statement for a period (program time, both dates inclusive):
 * a ledger of what was earned (lines that count) less what was paid. The
 * opening balance is every movement before the period; each row is one
 * movement dated in it (see read-statement.ts), with its signed amount and the
 * running balance; the closing balance is opening + the rows. A movement's
 * date never changes, so a past period's statement changes only when a line
 * or refund is dated into it later (a backdated sale or refund). Dates are
 * days in the program's time zone. The rows are paged from the database as
 * the client reads them (the opening balance is one sum), so a long history
 * is never held in memory.
 */
async function statementCsv(ctx: Context, res: ServerResponse, query: Query): Promise<void> {
  allow(ctx.viewer, "statement");
  const partnerId = partnerFilter(ctx, query) ?? (ctx.viewer?.role === "partner" ? ctx.viewer.partnerId : undefined);
  if (!partnerId) throw new HttpError(400, "BAD_USER_INPUT", "partnerId is required");
  const program = await programOf(ctx);
  const from = dateParam(query.get("from"), "from", program.timeZone).startOf("day");
  const to = dateParam(query.get("to"), "to", program.timeZone).endOf("day");
  if (to < from) throw new HttpError(400, "BAD_USER_INPUT", "to is before from");
  // Through the scoped client: a partner of another program is not found.
  const partner = await ctx.db.partner.findUnique({ where: { id: partnerId }, select: { name: true } });
  if (!partner) throw new HttpError(404, "NOT_FOUND", "no such partner");
  const statement = await readStatement(ctx.db, program.id, partnerId, { start: from.toJSDate(), end: to.plus({ milliseconds: 1 }).toJSDate() });
  const currency = program.currency;
  const day = (at: Date | string) => DateTime.fromJSDate(new Date(at), { zone: program.timeZone }).toISODate();
  const fmt = (value: ReturnType<typeof dec>) => money(value, currency)!;
  let balance = dec(statement.opening);
  const safeName = partner.name.replace(/[^\w.-]+/g, "-").slice(0, 60);
  await streamCsv(
    res,
    `statement-${safeName}-${from.toISODate()}-${to.toISODate()}.csv`,
    ["date", "type", "reference", "description", "amount", "balance"],
    (async function* () {
      yield [from.toISODate(), "OPENING_BALANCE", null, `${partner.name}, ${program.name}`, null, fmt(balance)];
      for await (const row of statement.movements) {
        const amount = dec(row.amount);
        balance = balance.plus(amount);
        const reference = row.type === "PAYOUT" ? (row.payout_ref ?? encodeGlobalId("Payout", row.id)) : (row.conversion_ref ?? encodeGlobalId("Commission", row.line_id!));
        yield [day(row.at), row.type, reference, row.description, fmt(amount), fmt(balance)] satisfies CsvCell[];
      }
      yield [to.toISODate(), "CLOSING_BALANCE", null, null, null, fmt(balance)];
    })(),
  );
}

/**
 * The yearly 1099-NEC report: US partners (those missing a W-9 flagged in w9_on_file) paid at least
 * the tax year's threshold, by paid date in program time, leaving out
 * payouts through PayPal and Venmo (their networks report them on 1099-K)
 * and payouts whose money came back. The TIN is masked, except for an admin
 * asking `reveal=tin` (audited).
 */
async function tax1099Csv(ctx: Context, res: ServerResponse, query: Query, deps: ServiceDeps): Promise<void> {
  allow(ctx.viewer, "tax1099");
  const yearText = query.get("year") ?? "";
  const year = /^\d{4}$/.test(yearText) ? Number(yearText) : Number.NaN;
  if (!Number.isInteger(year) || year < 2000 || year > 2100) throw new HttpError(400, "BAD_USER_INPUT", "year is a tax year like 2026");
  const reveal = query.get("reveal") === "tin";
  if (reveal && ctx.viewer?.role !== "admin") throw new HttpError(403, "FORBIDDEN", "Only an admin may export full tax ids.");
  const program = await programOf(ctx);
  const yearStart = DateTime.fromObject({ year }, { zone: program.timeZone });
  // Paged by id and tallied as read: memory holds one total per partner, never the year's payouts.
  const tally = new Payees1099Tally({ year, timeZone: program.timeZone, thresholds: deps.tax1099Thresholds });
  const paid = paged(
    (after) =>
      ctx.db.payout.findMany({
        where: { status: "PAID", bouncedAt: null, paidAt: { gte: yearStart.toJSDate(), lt: yearStart.plus({ years: 1 }).toJSDate() }, ...(after ? { id: { gt: after } } : {}) },
        orderBy: { id: "asc" },
        take: TAX_PAGE,
        select: { id: true, partnerId: true, amount: true, method: true, paidAt: true },
      }),
    (row) => row.id,
  );
  for await (const p of paid) tally.add({ partnerId: p.partnerId, amount: p.amount.toFixed(), method: p.method, paidAt: p.paidAt! });
  // Billing details only for partners whose total reaches the threshold.
  const candidates = tally.candidates();
  const profiles = new Map<string, BillingProfile>();
  for (let i = 0; i < candidates.length; i += TAX_PAGE) {
    for (const profile of await ctx.db.billingProfile.findMany({ where: { partnerId: { in: candidates.slice(i, i + TAX_PAGE) } } })) profiles.set(profile.partnerId, profile);
  }
  // A US payee (by billing details, else the partner's own country) is
  // listed whether or not a W-9 is on file: one without it is flagged, not
  // left out in silence, so the form can be asked for before filing.
  const countries = new Map<string, { name: string; country: string | null }>();
  for (let i = 0; i < candidates.length; i += TAX_PAGE) {
    for (const partner of await ctx.db.partner.findMany({ where: { id: { in: candidates.slice(i, i + TAX_PAGE) } }, select: { id: true, name: true, country: true } })) {
      countries.set(partner.id, { name: partner.name, country: partner.country });
    }
  }
  const isUS = (id: string) => (profiles.get(id)?.country ?? countries.get(id)?.country) === "US";
  const payees = tally.payees(isUS);
  if (reveal) {
    const recorded = await recordTinExport(deps, ctx.actor!, { year, payees: payees.length });
    if (!recorded.ok) throw new Error(`the TIN export was not audited: ${recorded.errors.map((e) => e.code).join(", ")}`);
  }
  await streamCsv(
    res,
    `1099-nec-${year}.csv`,
    [
      "partner_id",
      "legal_name",
      "entity_type",
      "tin",
      "address_line1",
      "address_line2",
      "city",
      "state",
      "postal_code",
      "country",
      "nonemployee_compensation",
      "currency",
      "payouts",
      "w9_on_file",
    ],
    (async function* () {
      for (const payee of payees) {
        const b = profiles.get(payee.partnerId);
        const w9 = b?.taxForm === "W9";
        yield [
          encodeGlobalId("Partner", payee.partnerId),
          b?.legalName ?? countries.get(payee.partnerId)?.name ?? null,
          b?.entityType ?? null,
          b ? (reveal && b.taxId ? deps.secrets.open(b.taxId) : maskSecret(b.taxIdLast4)) : null,
          b?.addressLine1 ?? null,
          b?.addressLine2 ?? null,
          b?.city ?? null,
          b?.region ?? null,
          b?.postalCode ?? null,
          b?.country ?? "US",
          money(payee.total, program.currency),
          program.currency,
          payee.payoutCount,
          // "no": no W-9 on file; ask for one (and withhold backup tax) before filing.
          w9 ? "yes" : "no",
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

/** Every export's path, for the access matrix's walk (test/access). */
export const EXPORT_PATHS: readonly string[] = Object.keys(ROUTES);

function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  // Mid-stream, the status is gone: cutting the response off is what tells
  // the client the file is incomplete (no final chunk), never a short CSV
  // that looks whole.
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
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
        if (name.includes("\0") || value.includes("\0"))
          throw new HttpError(400, "BAD_USER_INPUT", `${name.replaceAll("\0", "")} contains a NUL character, which text here cannot hold`);
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
      const failure = expectedFailure(error);
      if (failure) return sendError(res, failure.status, failure.code, failure.message, failure.headers);
      sendError(res, 500, "INTERNAL_SERVER_ERROR", "Unexpected error.");
    }
  };
}
