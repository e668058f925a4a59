import { Decimal } from "decimal.js";
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLInputObjectType,
  type GraphQLNamedType,
  type GraphQLObjectType,
} from "graphql";
import { createClient } from "graphql-ws";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { INTEGRATION_SCOPES } from "../../src/auth/viewer.ts";
import { buildSchema } from "../../src/graphql/schema.ts";
import { EXPORT_PATHS } from "../../src/http/exports.ts";
import { encodePartnerCursor, encodeProgramCursor } from "../../src/realtime/cursors.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { startStripeStandIn, type StripeStandIn } from "../helpers/stripe-stand-in.ts";
import { globalId, startTestApp, type GraphQLResponse, type TestApp } from "../helpers/test-app.ts";
import { buildAccessFixture, type AccessFixture } from "./fixture.ts";
import {
  canRead,
  EXPORTS,
  FILTER_SAMPLES,
  mayAggregate,
  MUTATIONS,
  QUERIES,
  READ,
  ROLES,
  SCOPES,
  scopesRead,
  SUBSCRIPTIONS,
  TARGETS,
  TYPES,
  type FieldRule,
  type Kind,
  type Role,
  type Scope,
  type Target,
  type TypeRule,
} from "./rules.ts";

/**
 * The access matrix (issue 10, section 2). The paths come from walking the
 * schema the server serves (and the export routes); what each role may do on
 * each path comes from rules.ts, written from DESIGN.md and README.md. A
 * path without a rule fails the first test. Then every path is run as every
 * role (platform, admin, finance, analyst, partner, an integration token
 * with each scope alone, anonymous) against a record of its own, of another
 * partner and of another program:
 * - allowed paths answer, and show only records the role may see;
 * - refused paths show nothing of the record (no count, no cursor, no value)
 *   and answer exactly what they answer for an id that names nothing;
 * - every list runs with each of its sorts (both directions) and each filter.
 * Subscriptions run over SSE and graphql-ws, exports over HTTP, mutations
 * with records of each owner (a refused one changes nothing).
 */

const schema = buildSchema();
const query = schema.getQueryType()!;
const mutation = schema.getMutationType()!;
const subscription = schema.getSubscriptionType()!;

type Response = GraphQLResponse<unknown>;
type Json = Record<string, any>;

const isConnection = (type: GraphQLNamedType): boolean => isObjectType(type) && type.name.endsWith("Connection") && "edges" in type.getFields();
const isPayload = (type: GraphQLNamedType) => isObjectType(type) && type.name.endsWith("Payload");
const isNode = (type: GraphQLNamedType) => isObjectType(type) && type.getInterfaces().some((i) => i.name === "Node");
const ROOTS = new Set([query.name, mutation.name, subscription.name]);

// ─── The walk: every path needs a rule ──────────────────────────────────────

const CONNECTION_FIELDS = ["edges", "pageInfo", "totalCount"];
const EDGE_FIELDS = ["cursor", "node"];

function missingRules(): string[] {
  const missing: string[] = [];
  const rule = (path: string, what: string) => missing.push(`${path}: ${what}`);
  const scopes = [...INTEGRATION_SCOPES].sort().join(",");
  if (scopes !== [...SCOPES].sort().join(",")) rule("roles", `the integration scopes are ${scopes}; add the new ones to SCOPES and READ in test/access/rules.ts`);
  for (const field of Object.values(query.getFields())) {
    const q = QUERIES[field.name];
    if (!q) {
      rule(`Query.${field.name}`, "add a rule to QUERIES in test/access/rules.ts (who may call it, what it returns)");
      continue;
    }
    const args = field.args.map((arg) => arg.name).sort();
    if ("list" in q && args.join() !== [...q.args].sort().join())
      rule(`Query.${field.name}`, `takes (${args.join(", ")}); the rule knows (${[...q.args].sort().join(", ")}): add the new argument's rule`);
    if ("aggregate" in q) {
      const a = q.aggregate;
      if (args.join() !== [...a.args].sort().join())
        rule(`Query.${field.name}`, `takes (${args.join(", ")}); the rule knows (${[...a.args].sort().join(", ")}): add the new argument's rule`);
      if (a.totalsOf && (!QUERIES[a.totalsOf.list] || filterType(field)?.name !== a.totalsOf.filter))
        rule(`Query.${field.name}`, `totals ${a.totalsOf.list} with ${a.totalsOf.filter}; the schema says ${filterType(field)?.name}`);
      if (!a.totalsOf && !FIGURES[field.name]) rule(`Query.${field.name}`, "add its figures, computed past the API, to FIGURES in test/access/matrix.test.ts");
      if (a.partnerArg === "partnerId" && !field.args.some((arg) => arg.name === "partnerId")) rule(`Query.${field.name}`, "has no argument partnerId");
    }
    if ("list" in q && q.sorts && sortEnum(field)?.name !== q.sorts) rule(`Query.${field.name}`, `sorts by ${sortEnum(field)?.name}, the rule says ${q.sorts}`);
    if ("list" in q && q.filter && filterType(field)?.name !== q.filter) rule(`Query.${field.name}`, `filters with ${filterType(field)?.name}, the rule says ${q.filter}`);
    if ("one" in q && !field.args.some((arg) => arg.name === q.by)) rule(`Query.${field.name}`, `has no argument ${q.by}`);
  }
  for (const name of Object.keys(QUERIES)) if (!query.getFields()[name]) rule(`Query.${name}`, "is ruled but gone from the schema: remove its rule");
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__") || ROOTS.has(type.name)) continue;
    const fields = Object.keys(type.getFields());
    if (isConnection(type)) {
      if (fields.sort().join() !== CONNECTION_FIELDS.join()) rule(type.name, `a connection with fields ${fields.join(", ")}: the matrix knows ${CONNECTION_FIELDS.join(", ")}`);
      continue;
    }
    if (type.name.endsWith("ConnectionEdge")) {
      if (fields.sort().join() !== EDGE_FIELDS.join()) rule(type.name, `an edge with fields ${fields.join(", ")}: the matrix knows ${EDGE_FIELDS.join(", ")}`);
      continue;
    }
    if (isPayload(type)) {
      for (const field of Object.values(type.getFields())) {
        const named = getNamedType(field.type);
        if (isObjectType(named) && !TYPES[named.name]) rule(`${type.name}.${field.name}`, `returns ${named.name}, which has no rule in TYPES`);
      }
      continue;
    }
    const typeRule = TYPES[type.name];
    if (!typeRule) {
      rule(type.name, "add a rule to TYPES in test/access/rules.ts (its kind of record, and a rule for each field)");
      continue;
    }
    if (isNode(type) && !typeRule.kind) rule(type.name, "node(id) loads it: give it a kind in TYPES");
    if (typeRule.viaRoot && getNamedType(query.getFields()[typeRule.viaRoot]?.type ?? query).name !== type.name)
      rule(type.name, `is read through Query.${typeRule.viaRoot}, which does not return it`);
    for (const field of Object.values(type.getFields())) {
      const fieldRule = typeRule.fields[field.name];
      if (!fieldRule) {
        rule(`${type.name}.${field.name}`, "add a rule for this field to TYPES in test/access/rules.ts");
        continue;
      }
      const ruled = typeof fieldRule === "object" && "to" in fieldRule ? [...(fieldRule.args ?? [])].sort() : [];
      const args = field.args.map((arg) => arg.name).sort();
      if (args.join() !== ruled.join()) rule(`${type.name}.${field.name}`, `takes (${args.join(", ")}); the rule knows (${ruled.join(", ")}): add the new argument's rule`);
      const named = getNamedType(field.type);
      const target = isConnection(named) ? edgeNode(named as GraphQLObjectType) : named;
      if (typeof fieldRule === "object" && "to" in fieldRule && !fieldRule.snapshot && isObjectType(target) && TYPES[target.name]?.kind !== fieldRule.to) {
        rule(`${type.name}.${field.name}`, `returns ${target.name} (kind ${TYPES[target.name]?.kind}), the rule says ${fieldRule.to}`);
      }
      if (fieldRule === "same" && isObjectType(target) && TYPES[target.name]?.kind)
        rule(`${type.name}.${field.name}`, `returns the record type ${target.name}: rule it as a relation ({ to: "${TYPES[target.name]!.kind}" })`);
    }
    for (const name of Object.keys(typeRule.fields)) if (!type.getFields()[name]) rule(`${type.name}.${name}`, "is ruled but gone from the schema: remove its rule");
  }
  for (const name of Object.keys(TYPES)) if (!schema.getType(name)) rule(name, "is ruled but gone from the schema: remove its rule");
  for (const field of Object.values(mutation.getFields())) {
    if (!MUTATIONS[field.name]) rule(`Mutation.${field.name}`, "add a rule to MUTATIONS in test/access/rules.ts (who may run it, the kind of record it names)");
    if (!INPUTS[field.name]) rule(`Mutation.${field.name}`, "add an input to INPUTS in test/access/matrix.test.ts");
    if (MUTATIONS[field.name]?.keys && !KEYED_INPUTS[field.name]) rule(`Mutation.${field.name}`, "names records by key: add it to KEYED_INPUTS in test/access/matrix.test.ts");
  }
  for (const field of Object.values(subscription.getFields()))
    if (!SUBSCRIPTIONS[field.name]) rule(`Subscription.${field.name}`, "add a rule to SUBSCRIPTIONS in test/access/rules.ts");
  for (const path of EXPORT_PATHS) if (!EXPORTS[path]) rule(path, "add a rule to EXPORTS in test/access/rules.ts");
  for (const path of Object.keys(EXPORTS)) if (!EXPORT_PATHS.includes(path)) rule(path, "is ruled but no longer exported: remove its rule");
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isInputObjectType(type) || !type.name.endsWith("Filter")) continue;
    for (const field of Object.keys(type.getFields()))
      if (!FILTER_SAMPLES[type.name]?.[field]) rule(`${type.name}.${field}`, "add a sample value to FILTER_SAMPLES in test/access/rules.ts, so every list runs with it");
  }
  return missing;
}

function edgeNode(connection: GraphQLObjectType): GraphQLNamedType {
  return getNamedType((getNamedType(connection.getFields().edges!.type) as GraphQLObjectType).getFields().node!.type);
}
function sortEnum(field: GraphQLField<unknown, unknown>) {
  const sort = field.args.find((arg) => arg.name === "sort");
  const type = sort && (getNamedType(sort.type) as GraphQLInputObjectType);
  const enumType = type && getNamedType(type.getFields().field!.type);
  return enumType && isEnumType(enumType) ? enumType : undefined;
}
function filterType(field: GraphQLField<unknown, unknown>): GraphQLInputObjectType | undefined {
  const filter = field.args.find((arg) => arg.name === "filter");
  return filter ? (getNamedType(filter.type) as GraphQLInputObjectType) : undefined;
}

// ─── Selections generated from the schema ───────────────────────────────────

/** What the matrix selects of a record it reaches: enough to tell whether it came back, and whose it is. */
function recordSelection(type: GraphQLNamedType): string {
  if (!isObjectType(type)) return "";
  const fields = type.getFields();
  return ["__typename", "id" in fields ? "id" : "", "partnerId" in fields ? "partnerId" : ""].filter(Boolean).join(" ");
}

function argsOf(field: GraphQLField<unknown, unknown>): string {
  const args = field.args.flatMap((arg) =>
    arg.name === "first" ? ["first: 50"] : arg.name === "includeRemoved" ? ["includeRemoved: true"] : arg.name === "at" ? ['at: "2099-01-01T00:00:00Z"'] : [],
  );
  return args.length ? `(${args.join(", ")})` : "";
}

function fieldSelection(field: GraphQLField<unknown, unknown>): string {
  const named = getNamedType(field.type);
  if (isLeafType(named)) return `${field.name}${argsOf(field)}`;
  if (isConnection(named))
    return `${field.name}${argsOf(field)} { totalCount edges { cursor node { ${recordSelection(edgeNode(named as GraphQLObjectType))} } } pageInfo { endCursor } }`;
  return `${field.name}${argsOf(field)} { ${recordSelection(named) || "__typename"} }`;
}

// ─── Mutation inputs (what each mutation is called with; ids swapped per target) ───

let serial = 0;
const INPUTS: Record<string, (id: string, n: number, f: AccessFixture) => Json> = {
  createProgram: (_id, n) => ({ name: `Matrix ${n}`, currency: "USD", commissionRule: { type: "FLAT", amount: "1.00" } }),
  updateProgramSettings: () => ({ name: "own program" }),
  createPartner: (_id, n) => ({ name: `New ${n}`, email: `new-${n}@partners.test` }),
  updatePartner: (id) => ({ id, country: "US" }),
  issueIntegrationToken: (_id, n) => ({ name: `matrix ${n}`, scopes: ["PARTNERS_READ"] }),
  revokeIntegrationToken: (id) => ({ id }),
  recordConversion: (id, n) => ({ externalId: `matrix-${n}`, partners: [{ id }], amount: "20.00", currency: "USD", occurredAt: "2026-03-01T00:00:00Z" }),
  recordConversions: (id, n) => ({ items: [{ externalId: `matrix-batch-${n}`, partners: [{ id }], amount: "20.00", currency: "USD", occurredAt: "2026-03-01T00:00:00Z" }] }),
  reverseConversion: (id, n) => ({ conversionId: id, refundId: `matrix-refund-${n}`, amount: "0.01" }),
  approveCommissions: (id) => ({ ids: [id] }),
  holdCommissions: (id) => ({ ids: [id], reason: "matrix" }),
  releaseCommissions: (id) => ({ ids: [id] }),
  cancelCommissions: (id) => ({ ids: [id], reason: "matrix" }),
  reinstateCommissions: (id) => ({ ids: [id] }),
  adjustCommission: (id) => ({ id, amount: "-0.01", reasonCode: "CORRECTION" }),
  creditPartner: (id) => ({ partnerId: id, amount: "1.00" }),
  writeOffBalance: (id) => ({ partnerId: id, reason: "matrix" }),
  createPayout: (id) => ({ partnerId: id }),
  runPayouts: () => ({}),
  requestPayout: () => ({}),
  approvePayouts: (id) => ({ ids: [id] }),
  markPayoutsPaid: (id) => ({ ids: [id], method: "PAYPAL", reference: "MATRIX" }),
  cancelPayouts: (id) => ({ ids: [id], reason: "matrix" }),
  sendPayouts: (id) => ({ ids: [id] }),
  removePayoutLines: (id, _n, f) => ({ payoutId: id, commissionIds: [f.ids.commission.own] }),
  addPayoutLines: (id, _n, f) => ({ payoutId: id, commissionIds: [f.ids.commission.own] }),
  recordPayoutBounce: (id) => ({ payoutId: id, reason: "matrix" }),
  addPayoutMethod: (id, n) => ({ partnerId: id, method: { type: "PAYPAL", email: `added-${n}@partners.test` } }),
  removePayoutMethod: (id) => ({ id }),
  setDefaultPayoutMethod: (id) => ({ id }),
  setBillingProfile: (id) => ({ partnerId: id, profile: { entityType: "INDIVIDUAL", legalName: "Legal Name", country: "US", taxForm: "W9" } }),
  revealPayoutMethod: (id) => ({ id }),
  revealTaxId: (id) => ({ partnerId: id }),
  connectQuickBooks: () => ({ expenseAccountId: "7" }),
  disconnectQuickBooks: () => ({ confirm: true }),
  mapPartnerToVendor: (id) => ({ partnerId: id, vendorId: "42" }),
  syncPayoutsToAccounting: (id) => ({ payoutIds: [id] }),
  retryAccountingSync: (id) => ({ payoutIds: [id] }),
  connectPaymentProvider: (_id, _n, f) => ({ provider: "STRIPE", environment: "SANDBOX", stripe: f.stripe }),
  disconnectPaymentProvider: () => ({ provider: "STRIPE", confirm: true }),
  // The target is a BANK_TRANSFER method; left out, its IBAN stays the one on file.
  updatePayoutMethod: (id) => ({ id, method: { type: "BANK_TRANSFER", accountName: "Acct" } }),
  verifyPayoutMethod: (id) => ({ id }),
};

/** The same inputs naming the target by a key of its own (MutationRule.keys). */
const KEYED_INPUTS: Record<string, (by: "externalId" | "email", key: string, n: number) => Json> = {
  recordConversion: (by, key, n) => ({ externalId: `matrix-key-${n}`, partners: [{ [by]: key }], amount: "20.00", currency: "USD", occurredAt: "2026-03-01T00:00:00Z" }),
  recordConversions: (by, key, n) => ({
    items: [{ externalId: `matrix-keys-${n}`, partners: [{ [by]: key }], amount: "20.00", currency: "USD", occurredAt: "2026-03-01T00:00:00Z" }],
  }),
  reverseConversion: (_by, key, n) => ({ conversionExternalId: key, refundId: `matrix-key-refund-${n}`, amount: "0.01" }),
};

/** Required input fields the builder left out (an idempotency key added later, say) get a unique string. */
function completeInput(type: GraphQLInputObjectType, input: Json, n: number): Json {
  const out = { ...input };
  for (const field of Object.values(type.getFields())) {
    if (out[field.name] !== undefined || !isNonNullType(field.type) || field.defaultValue !== undefined) continue;
    const named = getNamedType(field.type);
    if (named.name === "String") out[field.name] = `matrix-${field.name}-${n}`;
    else throw new Error(`${type.name}.${field.name} is required: add it to INPUTS in test/access/matrix.test.ts`);
  }
  return out;
}

// ─── Comparing answers ──────────────────────────────────────────────────────

/** The answer with the named ids (and keys) replaced, so another's record and a phantom read alike. */
function normalized(value: unknown, names: readonly string[]): string {
  let text = JSON.stringify(value);
  for (const name of names) {
    if (!name) continue;
    text = text.replaceAll(name, "<ID>");
    const raw = rawOf(name);
    if (raw) text = text.replaceAll(raw, "<ID>");
  }
  return text;
}

function rawOf(globalId: string): string | undefined {
  const decoded = Buffer.from(globalId, "base64").toString("utf8");
  const match = /^[A-Z][A-Za-z]*:([0-9a-f-]{36})$/.exec(decoded);
  return match?.[1];
}

function aliasPart(response: Response, alias: string) {
  return {
    status: response.status,
    data: (response.data as Json | null | undefined)?.[alias] ?? null,
    errors: (response.errors ?? []).filter((error) => error.path?.[0] === alias).map((error) => ({ message: error.message, path: error.path, code: error.extensions?.code })),
  };
}

// ─── Who owns each id (ground truth, read past the API) ─────────────────────

interface Owner {
  program: string;
  /** Partners the record belongs to; null for program-level records. */
  partners: Set<string> | null;
}

async function loadOwners(t: TestApp): Promise<Map<string, Owner>> {
  const prisma = t.app.db.prisma;
  const owners = new Map<string, Owner>();
  const put = (id: string, program: string, partners: string[] | null) => owners.set(id, { program, partners: partners ? new Set(partners) : null });
  for (const p of await prisma.program.findMany({ select: { id: true } })) put(p.id, p.id, null);
  for (const p of await prisma.partner.findMany({ select: { id: true, programId: true } })) put(p.id, p.programId, [p.id]);
  for (const c of await prisma.commission.findMany({ select: { id: true, programId: true, partnerId: true } })) put(c.id, c.programId, [c.partnerId]);
  for (const p of await prisma.payout.findMany({ select: { id: true, programId: true, partnerId: true } })) put(p.id, p.programId, [p.partnerId]);
  for (const m of await prisma.payoutMethod.findMany({ select: { id: true, programId: true, partnerId: true } })) put(m.id, m.programId, [m.partnerId]);
  for (const c of await prisma.conversion.findMany({ select: { id: true, programId: true, commissions: { select: { partnerId: true } }, reversals: { select: { id: true } } } })) {
    const partners = c.commissions.map((line) => line.partnerId);
    put(c.id, c.programId, partners);
    for (const r of c.reversals) put(r.id, c.programId, partners);
  }
  for (const a of await prisma.auditEntry.findMany({ select: { id: true, programId: true } })) put(a.id, a.programId, null);
  for (const r of await prisma.payoutRun.findMany({ select: { id: true, programId: true } })) put(r.id, r.programId, null);
  for (const i of await prisma.integrationToken.findMany({ select: { id: true, programId: true } })) put(i.id, i.programId, null);
  // Their ids are in their webhook paths.
  for (const c of await prisma.paymentProviderConnection.findMany({ select: { id: true, programId: true } })) put(c.id, c.programId, null);
  return owners;
}

/** Every record id in a text: global ids, connection cursors (plugin-prisma's `GPC:S:<uuid>`) and bare uuids. */
function idsIn(text: string): string[] {
  const found = new Set<string>();
  for (const token of text.match(/[A-Za-z0-9+/_-]{16,}={0,2}/g) ?? []) {
    const decoded = Buffer.from(token, "base64").toString("utf8");
    const match = /^(?:[A-Z][A-Za-z]*|GPC:S):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(decoded);
    if (match) found.add(match[1]!);
  }
  for (const uuid of text.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? []) found.add(uuid);
  return [...found];
}

// ─── Figures (README "Analytics"), computed past the API ────────────────────

/**
 * A program's records as the figures sum them, read from the database. The
 * sums below follow the schema's and README's definitions, not the product's
 * SQL; a figure that counted another program's (or another partner's)
 * records would differ from them.
 */
interface Ledger {
  currency: string;
  timeZone: string;
  conversions: Map<string, { occurredAt: Date; programAmount: string }>;
  lines: { partnerId: string; kind: string; status: string; amount: string; occurredAt: Date; conversionId: string | null; reasonCode: string | null }[];
  /** A conversion's last refund: when a full refund marked its lines REVERSED. */
  lastRefund: Map<string, Date>;
  payouts: { partnerId: string; status: string; amount: string; paidAt: Date | null }[];
}

async function ledgerOf(t: TestApp, programId: string): Promise<Ledger> {
  const prisma = t.app.db.prisma;
  const [program, conversions, lines, reversals, payouts] = await Promise.all([
    prisma.program.findUniqueOrThrow({ where: { id: programId }, select: { currency: true, timeZone: true } }),
    prisma.conversion.findMany({ where: { programId }, select: { id: true, occurredAt: true, programAmount: true } }),
    prisma.commission.findMany({
      where: { programId },
      select: { partnerId: true, kind: true, status: true, amount: true, occurredAt: true, conversionId: true, reasonCode: true },
    }),
    prisma.reversal.findMany({ where: { programId }, select: { conversionId: true, occurredAt: true } }),
    prisma.payout.findMany({ where: { programId }, select: { partnerId: true, status: true, amount: true, paidAt: true } }),
  ]);
  const lastRefund = new Map<string, Date>();
  for (const r of reversals) if (!lastRefund.has(r.conversionId) || lastRefund.get(r.conversionId)! < r.occurredAt) lastRefund.set(r.conversionId, r.occurredAt);
  return {
    currency: program.currency,
    timeZone: program.timeZone,
    conversions: new Map(conversions.map((c) => [c.id, { occurredAt: c.occurredAt, programAmount: c.programAmount.toFixed() }])),
    lines: lines.map((l) => ({ ...l, amount: l.amount.toFixed() })),
    lastRefund,
    payouts: payouts.map((p) => ({ ...p, amount: p.amount.toFixed() })),
  };
}

const FIGURE_RANGE = { from: "2025-01-01", to: "2026-12-31" };
const money = (amount: Decimal.Value, currency: string) => ({ amount: new Decimal(amount).toString(), currency });

interface Movement {
  /** A sale, a commission line, or a paid payout. */
  source: "sale" | "line" | "payout";
  at: Date;
  partnerId: string | null;
  sales: Decimal;
  conversions: number;
  accrued: Decimal;
  reversed: Decimal;
  paidOut: Decimal;
}

/**
 * Every movement the earnings figures count, dated. EarningsPoint's
 * definitions: sales by the sale's date, each conversion once for the
 * program, for a partner those attributed to it; accrued: sale commissions,
 * adjustments and credits, whatever their status but CANCELLED, a credit
 * rebooking a bounced payment excepted; reversed: what refunds and
 * chargebacks took back (their REVERSAL and CLAWBACK lines, and lines a full
 * refund marked REVERSED), by the refund's date, positive; paid out: paid
 * payouts by their paid date.
 */
function movementsOf(ledger: Ledger, perPartner: boolean): Movement[] {
  const zero = { source: "line" as Movement["source"], sales: new Decimal(0), conversions: 0, accrued: new Decimal(0), reversed: new Decimal(0), paidOut: new Decimal(0) };
  const out: Movement[] = [];
  if (!perPartner)
    for (const c of ledger.conversions.values()) out.push({ ...zero, at: c.occurredAt, partnerId: null, source: "sale", sales: new Decimal(c.programAmount), conversions: 1 });
  for (const line of ledger.lines) {
    const sale = line.conversionId ? ledger.conversions.get(line.conversionId) : undefined;
    if (perPartner && line.kind === "CONVERSION" && sale)
      out.push({ ...zero, at: sale.occurredAt, partnerId: line.partnerId, source: "sale", sales: new Decimal(sale.programAmount), conversions: 1 });
    if (line.status === "CANCELLED") continue;
    if (["CONVERSION", "ADJUSTMENT", "CREDIT"].includes(line.kind) && line.reasonCode !== "PAYMENT_BOUNCED")
      out.push({ ...zero, at: line.occurredAt, partnerId: line.partnerId, accrued: new Decimal(line.amount) });
    if (["REVERSAL", "CLAWBACK"].includes(line.kind)) out.push({ ...zero, at: line.occurredAt, partnerId: line.partnerId, reversed: new Decimal(line.amount).neg() });
    const refunded = line.conversionId ? ledger.lastRefund.get(line.conversionId) : undefined;
    if (line.status === "REVERSED" && refunded) out.push({ ...zero, at: refunded, partnerId: line.partnerId, reversed: new Decimal(line.amount) });
  }
  for (const p of ledger.payouts)
    if (p.status === "PAID" && p.paidAt) out.push({ ...zero, at: p.paidAt, partnerId: p.partnerId, source: "payout", paidOut: new Decimal(p.amount) });
  const start = new Date(`${FIGURE_RANGE.from}T00:00:00Z`);
  const end = new Date(new Date(`${FIGURE_RANGE.to}T00:00:00Z`).getTime() + 86_400_000);
  return out.filter((m) => m.at >= start && m.at < end);
}

/** earningsSeries by MONTH over FIGURE_RANGE: the program's (partnerId null) or one partner's. */
function seriesOf(ledger: Ledger, partnerId: string | null): Json {
  // The fixture's programs keep the default zone; months are cut in it.
  if (ledger.timeZone !== "UTC") throw new Error(`the figures' oracle cuts months in UTC, the program is in ${ledger.timeZone}`);
  const months: string[] = [];
  for (let year = Number(FIGURE_RANGE.from.slice(0, 4)); year <= Number(FIGURE_RANGE.to.slice(0, 4)); year++)
    for (let month = 1; month <= 12; month++) months.push(`${year}-${String(month).padStart(2, "0")}-01`);
  const points = new Map(months.map((m) => [m, { sales: new Decimal(0), conversions: 0, accrued: new Decimal(0), reversed: new Decimal(0), paidOut: new Decimal(0) }]));
  for (const m of movementsOf(ledger, partnerId !== null)) {
    if (partnerId !== null && m.partnerId !== partnerId) continue;
    const point = points.get(`${m.at.toISOString().slice(0, 7)}-01`)!;
    point.sales = point.sales.plus(m.sales);
    point.conversions += m.conversions;
    point.accrued = point.accrued.plus(m.accrued);
    point.reversed = point.reversed.plus(m.reversed);
    point.paidOut = point.paidOut.plus(m.paidOut);
  }
  const c = ledger.currency;
  return {
    period: "MONTH",
    from: FIGURE_RANGE.from,
    to: FIGURE_RANGE.to,
    timeZone: ledger.timeZone,
    partnerId: partnerId ? globalId("Partner", partnerId) : null,
    points: [...points].map(([periodStart, p]) => ({
      periodStart,
      sales: money(p.sales, c),
      conversions: p.conversions,
      accrued: money(p.accrued, c),
      reversed: money(p.reversed, c),
      paidOut: money(p.paidOut, c),
    })),
  };
}

/** topPartners over FIGURE_RANGE: every partner with a movement, earned (accrued less reversed) largest first, ties by id. */
function rankingOf(ledger: Ledger): Json {
  const by = new Map<string, { sales: Decimal; conversions: number; accrued: Decimal; reversed: Decimal }>();
  for (const m of movementsOf(ledger, true)) {
    if (m.source === "payout") continue;
    const row = by.get(m.partnerId!) ?? { sales: new Decimal(0), conversions: 0, accrued: new Decimal(0), reversed: new Decimal(0) };
    by.set(m.partnerId!, {
      sales: row.sales.plus(m.sales),
      conversions: row.conversions + m.conversions,
      accrued: row.accrued.plus(m.accrued),
      reversed: row.reversed.plus(m.reversed),
    });
  }
  const c = ledger.currency;
  return [...by]
    .map(([partnerId, r]) => ({ partnerId, earned: r.accrued.minus(r.reversed), ...r }))
    .sort((a, b) => b.earned.comparedTo(a.earned) || (a.partnerId < b.partnerId ? -1 : 1))
    .map((r) => ({
      partnerId: globalId("Partner", r.partnerId),
      earned: money(r.earned, c),
      accrued: money(r.accrued, c),
      reversed: money(r.reversed, c),
      sales: money(r.sales, c),
      conversions: r.conversions,
    }));
}

/** Count and sum of records, and per status (statuses with none left out), as CommissionTotals and PayoutTotals say. */
function totalsOf(rows: readonly { status: string; amount: string }[], currency: string): Json {
  const groups = new Map<string, { count: number; amount: Decimal }>();
  for (const row of rows) {
    const group = groups.get(row.status) ?? { count: 0, amount: new Decimal(0) };
    groups.set(row.status, { count: group.count + 1, amount: group.amount.plus(row.amount) });
  }
  return {
    count: rows.length,
    amount: money(
      rows.reduce((total, row) => total.plus(row.amount), new Decimal(0)),
      currency,
    ),
    byStatus: [...groups].map(([status, g]) => ({ status, count: g.count, amount: money(g.amount, currency) })),
  };
}

/** Aggregates other than totals: their arguments over FIGURE_RANGE, and their figures from a ledger (for one partner, or the program). */
const FIGURES: Record<string, { args: string; expected: (ledger: Ledger, partnerId: string | null) => Json }> = {
  earningsSeries: { args: `period: MONTH, from: "${FIGURE_RANGE.from}", to: "${FIGURE_RANGE.to}"`, expected: seriesOf },
  topPartners: { args: `from: "${FIGURE_RANGE.from}", to: "${FIGURE_RANGE.to}", first: 100`, expected: (ledger) => rankingOf(ledger) },
};

/** Answers compared as values: keys in order, amounts as numbers (12.5 = 12.50), per-status groups in status order. */
function canon(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canon);
  if (!value || typeof value !== "object") return value;
  const object: Json = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Json)[key];
    object[key] = key === "byStatus" && Array.isArray(v) ? [...v].sort((a: Json, b: Json) => (a.status < b.status ? -1 : 1)).map(canon) : canon(v);
  }
  if (typeof object.amount === "string" && typeof object.currency === "string") object.amount = new Decimal(object.amount).toString();
  return object;
}

/** Where two canonical answers first differ, for a failure message. */
function firstDifference(a: unknown, b: unknown, path = ""): string {
  if (JSON.stringify(a) === JSON.stringify(b)) return "";
  if (a && b && typeof a === "object" && typeof b === "object") {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const found = firstDifference((a as Json)[key], (b as Json)[key], `${path}.${key}`);
      if (found) return found;
    }
  }
  return `${path || "the answer"}: ${JSON.stringify(a)?.slice(0, 200)}, expected ${JSON.stringify(b)?.slice(0, 200)}`;
}

/** The figures of a result type: every field but relations to records (those are probed apart). */
function valueSelection(type: GraphQLNamedType): string {
  if (!isObjectType(type)) return "";
  const rule = TYPES[type.name];
  return Object.values(type.getFields())
    .filter((field) => {
      const fieldRule = rule?.fields[field.name];
      return !(typeof fieldRule === "object" && "to" in fieldRule);
    })
    .map((field) => {
      const named = getNamedType(field.type);
      return isLeafType(named) ? field.name : `${field.name} { ${valueSelection(named)} }`;
    })
    .join(" ");
}

// ─── The matrix ─────────────────────────────────────────────────────────────

describe("every path of the schema has an access rule", () => {
  it("finds a rule for every root field, type field, argument, relation, mutation, subscription, export and filter", () => {
    expect(missingRules()).toEqual([]);
  });
});

describe.each(databaseTargets())("access matrix on %s", (target) => {
  let t: TestApp;
  let f: AccessFixture;
  let owners: Map<string, Owner>;
  let fingerprintSql: string;
  let stripe: StripeStandIn;
  const failures: string[] = [];
  const counts: Record<string, number> = {};
  let started = 0;

  const count = (area: string, n = 1) => (counts[area] = (counts[area] ?? 0) + n);
  const fail = (where: string, message: string): void => void failures.push(`${where}: ${message}`);

  beforeAll(async () => {
    started = performance.now();
    // Stripe's stand-in (README "Payment rails"): providers are connected, and connecting works, through the API.
    stripe = await startStripeStandIn();
    t = await startTestApp(target, { env: { ACCRUE_SCHEDULER: "false", ACCRUE_MAX_QUERY_COST: "1000000", STRIPE_API_URL: stripe.url } });
    f = await buildAccessFixture(t, SCOPES, { secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecrets[0]! });
    owners = await loadOwners(t);
    const tables = await t.app.db.prisma.$queryRawUnsafe<{ table_name: string; has_updated: boolean }[]>(
      `SELECT table_name, bool_or(column_name = 'updated_at') AS has_updated FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_%' GROUP BY table_name ORDER BY table_name`,
    );
    fingerprintSql = `SELECT concat_ws('|', ${tables.map((row) => `(SELECT count(*)::text || coalesce(max(${row.has_updated ? "updated_at" : "null::timestamptz"})::text, '') FROM "${row.table_name}")`).join(", ")}) AS print`;
  }, 300_000);

  afterAll(async () => {
    await t?.stop();
    await stripe?.close();
  });
  beforeEach(() => {
    failures.length = 0;
  });

  /** Answers for ids that name nothing depend on the question and the role only: asked once each. */
  const ghosts = new Map<string, Promise<Response>>();
  const askGhost = (text: string, variables: Json, role: Role) => {
    const key = `${role}\n${text}\n${JSON.stringify(variables)}`;
    if (!ghosts.has(key)) ghosts.set(key, ask(text, variables, role));
    return ghosts.get(key)!;
  };
  const fingerprint = async () => (await t.app.db.prisma.$queryRawUnsafe<{ print: string }[]>(fingerprintSql))[0]!.print;
  const ask = (text: string, variables: Json, role: Role) => t.raw({ query: text, variables }, f.tokens[role]) as Promise<Response>;

  /** Runs `work` over items, a few at a time (reads only: mutations run one by one). */
  async function pool<T>(items: T[], work: (item: T) => Promise<void>, width = 6): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (next < items.length) await work(items[next++]!);
      }),
    );
  }

  /** Ids the role must not see: another program's, and for a partner another partner's. */
  function leaks(role: Role, text: string, echoed: readonly string[] = []): string[] {
    const allowedEchoes = new Set(echoed.flatMap((id) => [id, rawOf(id) ?? id]));
    const p1 = f.ownPartnerRawId;
    return idsIn(text).filter((id) => {
      if (allowedEchoes.has(id)) return false;
      const owner = owners.get(id);
      if (!owner) return false;
      if (role === "platform" || role === "anonymous") return true;
      if (owner.program !== f.programAId) return true;
      return role === "partner" && owner.partners !== null && !owner.partners.has(p1);
    });
  }

  function checkLeaks(where: string, role: Role, value: unknown, echoed: readonly string[] = []) {
    const found = leaks(role, JSON.stringify(value ?? null), echoed);
    if (found.length) fail(where, `shows ${found.length} id(s) of records it may not see: ${found.slice(0, 3).join(", ")}`);
  }

  function checkRefused(where: string, role: Role, part: ReturnType<typeof aliasPart>) {
    if (part.data !== null) fail(where, `refused path answered data ${JSON.stringify(part.data).slice(0, 200)}`);
    const expected = role === "anonymous" ? "UNAUTHENTICATED" : "FORBIDDEN";
    if (part.errors.length !== 1 || part.errors[0]!.code !== expected) fail(where, `expected one ${expected} error, got ${JSON.stringify(part.errors).slice(0, 300)}`);
  }

  it("reads every field of every record type as each role, for each owner's record", async () => {
    const work: { type: GraphQLObjectType; rule: TypeRule; role: Role; target: Target }[] = [];
    for (const [name, rule] of Object.entries(TYPES)) {
      if (!rule.kind || rule.viaRoot) continue;
      const type = schema.getType(name) as GraphQLObjectType;
      if (!isNode(type) && !rule.reach) throw new Error(`${name}: a record type node(id) cannot load needs a reach in TYPES`);
      for (const role of ROLES) for (const owner of TARGETS) work.push({ type, rule, role, target: owner });
    }
    await pool(work, async ({ type, rule, role, target: owner }) => {
      const kind = rule.kind!;
      // Each field, and each relation a second time with a bare selection (__typename; a
      // connection's count and cursors only): type-level rules never see those, the field's must.
      const probes = Object.values(type.getFields()).flatMap((field) => {
        const full = { field, alias: `f_${field.name}`, selection: fieldSelection(field) };
        const named = getNamedType(field.type);
        if (isLeafType(named) || rule.fields[field.name] === "same") return [full];
        const bare = isConnection(named) ? `{ totalCount edges { cursor } pageInfo { endCursor hasNextPage } }` : "{ __typename }";
        return [full, { field, alias: `b_${field.name}`, selection: `${field.name}${argsOf(field)} ${bare}` }];
      });
      const parentType = rule.reach ? Object.entries(TYPES).find(([, r]) => r.kind === rule.reach!.from && !r.reach)![0] : type.name;
      const id = f.ids[kind][owner];
      const phantom = f.phantomOf(parentType);
      for (let start = 0; start < probes.length; start += 25) {
        const chunk = probes.slice(start, start + 25);
        const aliases = chunk.map(({ alias, selection }) => {
          const body = rule.reach ? `${rule.reach.field}${rule.reach.field === "lines" ? "(includeRemoved: true)" : ""} { ${selection} }` : selection;
          return `${alias}: node(id: $id) { ... on ${parentType} { ${body} } }`;
        });
        const text = `query($id: ID!) { ${aliases.join(" ")} }`;
        const parentReadable = canRead(role, rule.reach ? rule.reach.from : kind, owner);
        // An id of nothing is asked only where the record is refused: there the two must read alike.
        const [real, ghost] = await Promise.all([ask(text, { id }, role), parentReadable ? undefined : askGhost(text, { id: phantom }, role)]);
        for (const { field, alias } of chunk) {
          count("type fields");
          const where = `${type.name}.${field.name}${alias.startsWith("b_") ? " (bare)" : ""} as ${role} on ${owner}'s record`;
          const part = aliasPart(real, alias);
          if (!parentReadable) {
            if (normalized(part, [id]) !== normalized(aliasPart(ghost!, alias), [phantom])) {
              fail(
                where,
                `answers differently than for an id that names nothing: ${normalized(part, [id]).slice(0, 300)} vs ${normalized(aliasPart(ghost!, alias), [phantom]).slice(0, 300)}`,
              );
            }
            if (part.data !== null) fail(where, "shows the record");
            continue;
          }
          const reachOk = !rule.reach || canRead(role, kind, owner);
          const fieldRule = rule.fields[field.name]!;
          const fieldOk = reachOk && fieldAllowed(fieldRule, role, owner);
          if (!fieldOk) {
            // The record is readable, the field is not: one refusal, and no value (a nullable field is null, else the record).
            const holder = rule.reach && reachOk ? part.data?.[rule.reach.field] : part.data;
            const value =
              rule.reach && !reachOk
                ? part.data?.[rule.reach.field]
                : Array.isArray(holder)
                  ? holder.map((item: Json) => item?.[field.name]).find((v: unknown) => v != null)
                  : holder?.[field.name];
            if (value != null) fail(where, `refused field answered ${JSON.stringify(value).slice(0, 200)}`);
            const expected = role === "anonymous" ? "UNAUTHENTICATED" : "FORBIDDEN";
            if (part.errors.length !== 1 || part.errors[0]!.code !== expected) fail(where, `expected one ${expected} error, got ${JSON.stringify(part.errors).slice(0, 300)}`);
            continue;
          }
          if (part.errors.length) fail(where, `allowed, but answered ${JSON.stringify(part.errors).slice(0, 300)}`);
          if (part.data === null) fail(where, "allowed, but no record came back");
          const value = rule.reach ? part.data?.[rule.reach.field] : part.data;
          const holder = Array.isArray(value) ? value[0] : value;
          if (fieldRule === "ownerOnly" && holder) {
            const shown = holder[field.name] != null;
            if (shown !== (role === "partner" && owner === "own")) fail(where, shown ? "shows a value only its owner may see" : "hides the value from its owner");
          }
          if (fieldRule === "hiddenFromPartners" && holder) {
            const shown = holder[field.name] != null;
            if (shown === (role === "partner")) fail(where, shown ? "shows partners the integrator's data" : "hides the value from operators");
          }
          checkLeaks(where, role, part.data);
        }
      }
    });
    expect(failures).toEqual([]);
  }, 600_000);

  function fieldAllowed(rule: FieldRule, role: Role, owner: Target): boolean {
    if (rule === "same" || rule === "ownerOnly" || rule === "hiddenFromPartners") return true;
    if ("only" in rule) return rule.only.includes(role);
    return rule.via ? canRead(role, rule.via, owner) : canRead(role, rule.to, owner);
  }

  it("answers every root field as each role, for each owner's record", async () => {
    const work: { name: string; role: Role; owner: Target }[] = [];
    for (const name of Object.keys(QUERIES)) for (const role of ROLES) for (const owner of TARGETS) work.push({ name, role, owner });
    await pool(work, async ({ name, role, owner }) => {
      const rule = QUERIES[name]!;
      // Figures have a test of their own (below).
      if ("aggregate" in rule) return;
      const field = query.getFields()[name]!;
      const where = `Query.${name} as ${role} on ${owner}'s record`;
      count("root fields");
      if ("node" in rule) {
        const types = Object.entries(TYPES).filter(([typeName, typeRule]) => typeRule.kind && !typeRule.reach && isNode(schema.getType(typeName)!));
        const call = (id: string) => (rule.node === "one" ? `node(id: "${id}") { __typename id }` : `nodes(ids: ["${id}"]) { __typename id }`);
        // `node` is nullable: one request for every type. `nodes` is a non-null list, so one refused
        // alias would null its neighbours: a request per type.
        const batches = rule.node === "one" ? [types] : types.map((type) => [type]);
        const answers = new Map<string, { real: Response; ghost: Response }>();
        for (const batch of batches) {
          const real = await ask(`{ ${batch.map(([typeName, typeRule]) => `${typeName}: ${call(f.ids[typeRule.kind!][owner])}`).join(" ")} }`, {}, role);
          const ghost = await askGhost(`{ ${batch.map(([typeName]) => `${typeName}: ${call(f.phantomOf(typeName))}`).join(" ")} }`, {}, role);
          for (const [typeName] of batch) answers.set(typeName, { real, ghost });
        }
        for (const [typeName, typeRule] of types) {
          count("root fields");
          const id = f.ids[typeRule.kind!][owner];
          const part = aliasPart(answers.get(typeName)!.real, typeName);
          const unseen = aliasPart(answers.get(typeName)!.ghost, typeName);
          if (canRead(role, typeRule.kind!, owner)) {
            const got = rule.node === "one" ? part.data?.id : part.data?.[0]?.id;
            if (got !== id || part.errors.length) fail(`${where} (${typeName})`, `allowed, answered ${JSON.stringify(part).slice(0, 300)}`);
          } else {
            const phantom = f.phantomOf(typeName);
            if (normalized(part, [id]) !== normalized(unseen, [phantom]))
              fail(
                `${where} (${typeName})`,
                `answers differently than for an id that names nothing: ${normalized(part, [id]).slice(0, 200)} vs ${normalized(unseen, [phantom]).slice(0, 200)}`,
              );
            if (JSON.stringify(part.data ?? null).includes("__typename")) fail(`${where} (${typeName})`, "shows the record");
          }
          checkLeaks(`${where} (${typeName})`, role, part);
        }
        return;
      }
      if ("one" in rule) {
        const type = getNamedType(field.type);
        const key = rule.by === "id" ? f.ids[rule.one][owner] : externalKey(rule.one, owner);
        const phantom = rule.by === "id" ? f.phantomOf(type.name) : "no-such-key";
        const text = `query($key: ${rule.by === "id" ? "ID" : "String"}!) { x: ${name}(${rule.by}: $key) { ${recordSelection(type)} } }`;
        const allowed = rule.roles.includes(role) && canRead(role, rule.one, owner);
        const [real, ghost] = await Promise.all([ask(text, { key }, role), askGhost(text, { key: phantom }, role)]);
        const part = aliasPart(real, "x");
        if (allowed) {
          if (part.data?.id !== f.ids[rule.one][owner] || part.errors.length) fail(where, `allowed, answered ${JSON.stringify(part).slice(0, 300)}`);
        } else {
          if (normalized(part, [key]) !== normalized(aliasPart(ghost, "x"), [phantom]))
            fail(
              where,
              `answers differently than for a key that names nothing: ${normalized(part, [key]).slice(0, 200)} vs ${normalized(aliasPart(ghost, "x"), [phantom]).slice(0, 200)}`,
            );
          if (part.data !== null) fail(where, "shows the record");
        }
        checkLeaks(where, role, real, [key]);
        return;
      }
      if ("list" in rule) {
        // A list has no one record: once per role, its contents checked against every owner's records.
        if (owner !== "own") return;
        count("root fields", 2);
        const node = edgeNode(getNamedType(field.type) as GraphQLObjectType);
        const text = `{ x: ${name}(first: 100) { totalCount edges { cursor node { ${recordSelection(node)} } } pageInfo { endCursor } } }`;
        const part = aliasPart(await ask(text, {}, role), "x");
        if (!rule.roles.includes(role)) return checkRefused(`Query.${name} as ${role}`, role, part);
        checkList(`Query.${name} as ${role}`, role, rule.list, part, { subset: rule.subset });
        return;
      }
      // Values: the viewer, the program, dashboards.
      if (owner !== "own") return;
      count("root fields", 2);
      const type = getNamedType(field.type);
      const selection = isConnection(type)
        ? "(first: 100) { totalCount edges { node { id } } }"
        : `{ ${Object.values((type as unknown as GraphQLObjectType).getFields())
            .map(fieldSelection)
            .join(" ")} }`;
      const part = aliasPart(await ask(`{ x: ${name} ${selection} }`, {}, role), "x");
      if (!rule.value.includes(role)) return checkRefused(`Query.${name} as ${role}`, role, part);
      if (part.errors.length || part.data === null) fail(`Query.${name} as ${role}`, `allowed, answered ${JSON.stringify(part).slice(0, 300)}`);
      if (name !== "programs") checkLeaks(`Query.${name} as ${role}`, role, part.data);
    });
    expect(failures).toEqual([]);
  }, 600_000);

  function keyOf(kind: Kind, owner: Target, by: "externalId" | "email"): string {
    const externalId = externalKey(kind, owner);
    return by === "email" ? `${externalId}@partners.test` : externalId;
  }

  function externalKey(kind: Kind, owner: Target): string {
    if (kind === "conversion") return f.keys.conversionExternalId[owner];
    return { own: f.keys.ownPartnerExternalId, other: f.keys.otherPartnerExternalId, foreign: f.keys.foreignPartnerExternalId }[owner];
  }

  /** A list as the role sees it: exactly the records of its program it may read (a partner's own), counted and cursored as shown. */
  function checkList(where: string, role: Role, kind: Kind, part: ReturnType<typeof aliasPart>, options: { subset?: boolean } = {}) {
    if (part.errors.length || !part.data) return fail(where, `allowed, answered ${JSON.stringify(part).slice(0, 300)}`);
    const edges = part.data.edges as { cursor: string; node: Json }[];
    const shown = edges.map((edge) => edge.node.id ?? edge.node.partnerId);
    const rows = f.programA[kind];
    if (rows) {
      const visible = new Set(rows.filter((row) => !(role === "partner" && READ[kind].partnerOwned) || row.partnerId === f.ids.partner.own).map((row) => row.id));
      const extra = shown.filter((id) => !visible.has(id));
      if (extra.length) fail(where, `lists ${extra.length} record(s) it may not see`);
      if (!options.subset && shown.length !== visible.size) fail(where, `lists ${shown.length} of the ${visible.size} records it may see`);
    }
    if (part.data.totalCount !== shown.length) fail(where, `totalCount ${part.data.totalCount} for ${shown.length} records listed`);
    for (const edge of edges) {
      const cursorId = idsIn(edge.cursor)[0];
      if (cursorId !== rawOf(edge.node.id ?? edge.node.partnerId)) fail(where, "a cursor names another record than its node");
    }
    checkLeaks(where, role, part.data);
  }

  it("runs every list with each of its sorts, in both directions, and each filter", async () => {
    const work: { label: string; role: Role; text: string; variables: Json; kind: Kind; path: string[] }[] = [];
    const sampleIds = { ownPartner: f.ids.partner.own, ownConversion: f.ids.conversion.own };
    const lists: { field: GraphQLField<unknown, unknown>; path: string; roles: readonly Role[]; kind: Kind; wrap: (inner: string) => string; unwrap: string[] }[] = [];
    for (const [name, rule] of Object.entries(QUERIES)) {
      if (!("list" in rule)) continue;
      lists.push({ field: query.getFields()[name]!, path: `Query.${name}`, roles: rule.roles, kind: rule.list, wrap: (inner) => `x: ${inner}`, unwrap: ["x"] });
    }
    for (const [typeName, typeRule] of Object.entries(TYPES)) {
      for (const [fieldName, fieldRule] of Object.entries(typeRule.fields)) {
        if (typeof fieldRule !== "object" || !("connection" in fieldRule) || !fieldRule.connection || typeRule.kind !== "partner") continue;
        lists.push({
          field: (schema.getType(typeName) as GraphQLObjectType).getFields()[fieldName]!,
          path: `${typeName}.${fieldName}`,
          roles: ROLES.filter((role) => canRead(role, "partner", "own") && canRead(role, fieldRule.to, "own")),
          kind: fieldRule.to,
          wrap: (inner) => `x: node(id: "${f.ids.partner.own}") { ... on ${typeName} { ${inner} } }`,
          unwrap: ["x", fieldName],
        });
      }
    }
    for (const list of lists) {
      const node = edgeNode(getNamedType(list.field.type) as GraphQLObjectType);
      const selection = `{ totalCount edges { cursor node { ${recordSelection(node)} } } pageInfo { endCursor } }`;
      const variants: { label: string; args: string; variables: Json; defs: string }[] = [];
      const sorts = sortEnum(list.field);
      const sortArg = list.field.args.find((arg) => arg.name === "sort");
      if (sorts && sortArg) {
        for (const value of sorts.getValues())
          for (const direction of ["ASC", "DESC"])
            variants.push({ label: `sort ${value.name} ${direction}`, defs: "", variables: {}, args: `, sort: { field: ${value.name}, direction: ${direction} }` });
      }
      const filter = filterType(list.field);
      if (filter) {
        for (const [name] of Object.entries(filter.getFields())) {
          const sample = FILTER_SAMPLES[filter.name]?.[name];
          if (!sample) continue;
          variants.push({ label: `filter ${name}`, defs: `($filter: ${filter.name})`, variables: { filter: { [name]: sample(sampleIds) } }, args: ", filter: $filter" });
        }
      }
      for (const variant of variants) {
        for (const role of list.roles) {
          const text = `query${variant.defs} { ${list.wrap(`${list.field.name}(first: 100${variant.args}) ${selection}`)} }`;
          work.push({ label: `${list.path} ${variant.label}`, role, text, variables: variant.variables, kind: list.kind, path: list.unwrap });
        }
      }
      // A partner naming another partner in a filter is refused whether that partner exists or not.
      if (filter?.getFields().partnerId && list.roles.includes("partner")) {
        for (const owner of ["other", "foreign"] as const) {
          const text = `query($filter: ${filter.name}) { ${list.wrap(`${list.field.name}(first: 100, filter: $filter) ${selection}`)} }`;
          work.push({
            label: `${list.path} filter partnerId of ${owner}'s`,
            role: "partner",
            text,
            variables: { filter: { partnerId: f.ids.partner[owner] } },
            kind: list.kind,
            path: ["x", "phantom-compare"],
          });
        }
      }
    }
    await pool(work, async (item) => {
      count("sorts and filters");
      const where = `${item.label} as ${item.role}`;
      const response = await ask(item.text, item.variables, item.role);
      if (item.path[1] === "phantom-compare") {
        const named = item.variables.filter.partnerId as string;
        const phantom = f.phantom("Partner");
        const ghost = await ask(item.text, { filter: { partnerId: phantom } }, item.role);
        if (normalized(aliasPart(response, "x"), [named]) !== normalized(aliasPart(ghost, "x"), [phantom]))
          fail(where, "answers differently than for a partner that does not exist");
        checkLeaks(where, item.role, response, [named]);
        return;
      }
      const part = aliasPart(response, "x");
      const list = item.path.length > 1 ? { ...part, data: part.data?.[item.path[1]!] ?? null } : part;
      if (list.errors.length || !list.data) {
        fail(where, `answered ${JSON.stringify(list).slice(0, 300)}`);
        return;
      }
      checkList(where, item.role, item.kind, list, { subset: true });
    });
    expect(failures).toEqual([]);
  }, 600_000);

  it("downloads every export as each role, naming each owner's record", async () => {
    const work: { path: string; role: Role; owner: Target | null }[] = [];
    for (const path of EXPORT_PATHS) for (const role of ROLES) for (const owner of EXPORTS[path]!.target ? TARGETS : [null]) work.push({ path, role, owner });
    const download = async (path: string, params: Record<string, string>, role: Role) => {
      const token = f.tokens[role];
      const response = await fetch(`${t.url}${path}?${new URLSearchParams(params)}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: response.status, body: await response.text(), skipped: response.headers.get("x-accrue-skipped") };
    };
    await pool(work, async ({ path, role, owner }) => {
      count("exports");
      const rule = EXPORTS[path]!;
      const where = `${path} as ${role}${owner ? ` naming ${owner}'s record` : ""}`;
      const base: Record<string, string> = path.includes("statement") ? { from: "2025-01-01", to: "2026-12-31" } : path.includes("1099") ? { year: "2026" } : {};
      const id = owner && rule.target ? f.ids[rule.target.kind][owner] : undefined;
      const real = await download(path, id ? { ...base, [rule.target!.param]: id } : base, role);
      // Operators and integrations name any record of their program; a partner its own.
      const allowed = rule.roles.includes(role) && (!owner || owner === "foreign" || role !== "partner" || owner === "own");
      if (allowed && owner !== "foreign") {
        if (real.status !== 200) return fail(where, `allowed, answered ${real.status} ${real.body.slice(0, 200)}`);
        checkLeaks(where, role, real.body, id ? [id] : []);
        if (role === "partner" && real.body.includes("Other Partner")) fail(where, "shows another partner's name");
        return;
      }
      if (!id) {
        if (real.status !== (role === "anonymous" ? 401 : 403)) fail(where, `refused export answered ${real.status}`);
        return;
      }
      const phantom = f.phantom(rule.target!.kind === "partner" ? "Partner" : "Payout");
      const ghost = await download(path, { ...base, [rule.target!.param]: phantom }, role);
      if (normalized(real, [id]) !== normalized(ghost, [phantom]))
        fail(where, `answers differently than for an id that names nothing: ${normalized(real, [id]).slice(0, 200)} vs ${normalized(ghost, [phantom]).slice(0, 200)}`);
      checkLeaks(where, role, real.body, [id]);
      if (!rule.roles.includes(role) && real.status !== (role === "anonymous" ? 401 : 403)) fail(where, `refused export answered ${real.status}`);
    });
    expect(failures).toEqual([]);
  }, 600_000);

  it("opens both subscriptions over SSE and graphql-ws as each role, for each owner's partner", async () => {
    const events = await t.app.db.prisma.event.count({ where: { partnerId: f.ownPartnerRawId } });
    const eventsOf = async (partnerId: string) => t.app.db.prisma.event.count({ where: { partnerId } });
    const otherEvents = await eventsOf(rawOf(f.ids.partner.other)!);
    expect(events).toBeGreaterThan(3);
    const PARTNER_FEED = `subscription($partnerId: ID, $after: String) { partnerEvents(partnerId: $partnerId, after: $after) { type cursor partnerId payout { id status reference } commission { id } balance { payable { amount } } } }`;
    const PROGRAM_FEED = `subscription($after: String) { programEvents(after: $after) { type cursor partnerId payout { id } } }`;
    // Replay from the start: every allowed feed has events to send at once (a positive marker, no waiting).
    // A partner cursor names its partner, a program cursor its program (the roles' own).
    const partnerAfter = (partnerId: string | undefined) => (partnerId ? encodePartnerCursor(rawOf(partnerId)!, 0n) : null);
    const programAfter = encodeProgramCursor({ g: rawOf(f.ids.program.own)!, w: "0", p: {} });

    /** Reads `wanted` events (or the first error) over SSE, then hangs up. */
    async function overSse(text: string, variables: Json, role: Role, wanted: number): Promise<{ status: number; items: Json[] }> {
      const token = f.tokens[role];
      const abort = new AbortController();
      // Not a timing assertion: a feed that never sends what it should fails here instead of hanging the run.
      const guard = setTimeout(() => abort.abort(), 20_000);
      const response = await fetch(`${t.url}/graphql`, {
        method: "POST",
        signal: abort.signal,
        headers: { "content-type": "application/json", accept: "text/event-stream", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query: text, variables }),
      });
      const items: Json[] = [];
      if (!response.headers.get("content-type")?.includes("text/event-stream")) {
        items.push(JSON.parse(await response.text()) as Json);
        return { status: response.status, items };
      }
      const reader = response.body!.getReader();
      let buffer = "";
      try {
        while (items.length < wanted) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += new TextDecoder().decode(value);
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split("\n").find((line) => line.startsWith("data:"));
            if (block.startsWith("event: complete")) return { status: response.status, items };
            if (data) {
              const item = JSON.parse(data.slice(5)) as Json;
              items.push(item);
              if (item.errors) return { status: response.status, items };
            }
          }
        }
      } catch (error) {
        if (!abort.signal.aborted) throw error;
      } finally {
        clearTimeout(guard);
        abort.abort();
      }
      return { status: response.status, items };
    }

    /** The same over graphql-ws. */
    async function overWs(text: string, variables: Json, role: Role, wanted: number): Promise<{ status: number; items: Json[] }> {
      const token = f.tokens[role];
      const items: Json[] = [];
      let closeCode = 0;
      const client = createClient({
        url: `${t.url.replace(/^http/, "ws")}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: true,
        on: { closed: (event) => (closeCode = (event as { code: number }).code) },
      });
      try {
        await new Promise<void>((resolve) => {
          const guard = setTimeout(resolve, 20_000);
          const done = () => {
            clearTimeout(guard);
            resolve();
          };
          const stop = client.subscribe(
            { query: text, variables },
            {
              next: (value) => {
                items.push(value as Json);
                if (value.errors || items.length >= wanted) {
                  stop();
                  done();
                }
              },
              error: (error) => {
                items.push({
                  errors: Array.isArray(error)
                    ? error.map((e: Json) => ({ message: e.message, extensions: e.extensions }))
                    : [{ message: "closed", extensions: { code: `CLOSE_${closeCode || (error as { code?: number }).code}` } }],
                });
                done();
              },
              complete: done,
            },
          );
        });
      } finally {
        await client.dispose();
      }
      return { status: 0, items };
    }

    const work: { name: string; role: Role; owner: Target | null; transport: "sse" | "ws" }[] = [];
    for (const name of Object.keys(SUBSCRIPTIONS)) {
      for (const role of ROLES)
        for (const owner of SUBSCRIPTIONS[name]!.target ? TARGETS : [null]) for (const transport of ["sse", "ws"] as const) work.push({ name, role, owner, transport });
    }
    await pool(
      work,
      async ({ name, role, owner, transport }) => {
        count("subscriptions");
        const rule = SUBSCRIPTIONS[name]!;
        const where = `Subscription.${name} over ${transport} as ${role}${owner ? ` on ${owner}'s partner` : ""}`;
        const open = transport === "sse" ? overSse : overWs;
        const id = owner ? f.ids.partner[owner] : undefined;
        const allowed = rule.roles.includes(role) && (!owner || canRead(role === "partner" ? "partner" : "admin", "partner", owner));
        const text = name === "partnerEvents" ? PARTNER_FEED : PROGRAM_FEED;
        const variables = (partnerId: string | undefined): Json => (name === "partnerEvents" ? { partnerId, after: partnerAfter(partnerId) } : { after: programAfter });
        const wanted = owner === "other" ? otherEvents : events;
        const real = await open(text, variables(id), role, allowed ? wanted : 1);
        if (allowed) {
          const errors = real.items.flatMap((item) => item.errors ?? []);
          if (errors.length || real.items.length < wanted)
            return fail(where, `allowed, got ${real.items.length} of ${wanted} events, errors ${JSON.stringify(errors).slice(0, 200)}`);
          for (const item of real.items) {
            const event = item.data?.[name] as Json;
            if (event?.type === "PAYOUT_CHANGED" && (event.payout != null) !== canRead(role, "payout", owner ?? "own"))
              fail(where, event.payout ? "shows a payout to a role that may not read payouts" : "hides the payout from a role that may read it");
          }
          checkLeaks(where, role, real.items, id ? [id] : []);
          return;
        }
        const refusal = real.items.flatMap((item) => item.errors ?? []);
        if (refusal.length === 0 || real.items.some((item) => item.data?.[name])) fail(where, `refused feed answered ${JSON.stringify(real.items).slice(0, 300)}`);
        if (id) {
          const phantom = f.phantom("Partner");
          const ghost = await open(text, variables(phantom), role, 1);
          if (normalized(real, [id]) !== normalized(ghost, [phantom]))
            fail(where, `answers differently than for a partner that does not exist: ${normalized(real, [id]).slice(0, 200)} vs ${normalized(ghost, [phantom]).slice(0, 200)}`);
        }
      },
      4,
    );
    expect(failures).toEqual([]);
  }, 600_000);

  it("computes every figure from what the asker may read: its program's records, a partner's own, with a scope for each kind summed", async () => {
    // P2's draft payout is paid first, so each of P2's figures (paid out too) differs from P1's and from the program's.
    const approved = aliasPart(
      await ask(`mutation($input: ApprovePayoutsInput!) { x: approvePayouts(input: $input) { userErrors { code } } }`, { input: { ids: [f.ids.payout.other] } }, "admin"),
      "x",
    );
    const paid = aliasPart(
      await ask(
        `mutation($input: MarkPayoutsPaidInput!) { x: markPayoutsPaid(input: $input) { userErrors { code } } }`,
        { input: { ids: [f.ids.payout.other], method: "BANK_TRANSFER", reference: "REF-P2" } },
        "admin",
      ),
      "x",
    );
    expect([approved.errors, approved.data?.userErrors, paid.errors, paid.data?.userErrors]).toEqual([[], [], [], []]);

    interface Asker {
      label: string;
      token: string | null;
      who: Role | { scopes: Scope[] };
      programId: string;
      partner: string | null;
    }
    const askers: Asker[] = ROLES.map((role) => ({
      label: role,
      token: f.tokens[role],
      who: role,
      programId: f.programAId,
      partner: role === "partner" ? f.ownPartnerRawId : null,
    }));
    const aggregates = Object.entries(QUERIES).flatMap(([name, rule]) => ("aggregate" in rule ? [{ name, rule: rule.aggregate }] : []));
    // The roles hold one scope each. A figure summing several kinds needs a token with all their scopes
    // (allowed), that set less any one (refused), and it with partners:read (for the partner behind a row).
    // (Each figure is asked by its own sets: the roles already cover a single scope.)
    const setsOf = new Map<string, Scope[][]>();
    const tokens = new Map<string, Asker>();
    for (const { name, rule } of aggregates) {
      const full = [...new Set(rule.sums.map((kind) => SCOPES.find((scope) => scopesRead([scope], kind))!))].sort();
      const candidates = full.length > 1 ? [full, ...full.map((left) => full.filter((scope) => scope !== left)), [...full, "partners:read" as const]] : [];
      setsOf.set(
        name,
        candidates.filter((set) => set.length > 1),
      );
    }
    for (const scopes of [...setsOf.values()].flat()) {
      const label = `integration:${scopes.join("+")}`;
      if (tokens.has(label)) continue;
      const issued = aliasPart(
        await ask(
          `mutation($input: IssueIntegrationTokenInput!) { x: issueIntegrationToken(input: $input) { issued { token } } }`,
          { input: { name: label, scopes: scopes.map((scope) => scope.replace(":", "_").toUpperCase()) } },
          "admin",
        ),
        "x",
      );
      tokens.set(label, { label, token: issued.data.issued.token, who: { scopes }, programId: f.programAId, partner: null });
    }
    // "Records of another program behave as not found": program B's admin gets B's figures, none of A's.
    askers.push({ label: "program B's admin", token: f.foreignAdmin, who: "admin", programId: f.programBId, partner: null });
    const askersOf = (name: string): Asker[] => [...askers, ...setsOf.get(name)!.map((scopes) => tokens.get(`integration:${scopes.join("+")}`)!)];

    const ledgers = new Map([
      [f.programAId, await ledgerOf(t, f.programAId)],
      [f.programBId, await ledgerOf(t, f.programBId)],
    ]);
    const partnerNamed: Record<Target, string> = { own: f.ids.partner.own, other: f.ids.partner.other, foreign: f.ids.partner.foreign };
    const programOf = (partner: string) => owners.get(rawOf(partner)!)?.program;
    const sample = { ownPartner: f.ids.partner.own, ownConversion: f.ids.conversion.own };

    /** Who a leak would be: a record of another program, or for a partner, of another partner. */
    const leakCheck = (where: string, asker: Asker, value: unknown, echoed: readonly string[] = []) => {
      if (asker.programId === f.programAId) return checkLeaks(where, typeof asker.who === "string" ? asker.who : "integration:commissions:read", value, echoed);
      const named = new Set(echoed.map((id) => rawOf(id) ?? id));
      const foreign = idsIn(JSON.stringify(value ?? null)).filter((id) => !named.has(id) && owners.get(id) && owners.get(id)!.program !== asker.programId);
      if (foreign.length) fail(where, `shows ${foreign.length} id(s) of another program's records`);
    };
    const askAs = (asker: Asker, text: string, variables: Json) => t.raw({ query: text, variables }, asker.token) as Promise<Response>;
    const refusedCode = (asker: Asker) => (asker.token ? "FORBIDDEN" : "UNAUTHENTICATED");

    await pool(
      aggregates.flatMap(({ name, rule }) => askersOf(name).map((asker) => ({ name, rule, asker }))),
      async ({ name, rule, asker }) => {
        const field = query.getFields()[name]!;
        const figures = valueSelection(getNamedType(field.type));
        /** A request for the figure, naming a partner or not, with a list filter for totals. */
        const request = (named: string | undefined, filter: Json = {}) => {
          const defs: string[] = [];
          const args: string[] = [];
          const variables: Json = {};
          if (rule.totalsOf) {
            defs.push(`$filter: ${rule.totalsOf.filter}`);
            args.push("filter: $filter");
            variables.filter = { ...filter, ...(named ? { partnerId: named } : {}) };
          } else args.push(FIGURES[name]!.args);
          if (rule.partnerArg === "partnerId" && named) {
            defs.push("$partnerId: ID");
            args.push("partnerId: $partnerId");
            variables.partnerId = named;
          }
          const list = rule.totalsOf
            ? ` l: ${rule.totalsOf.list}(first: 100${defs.length ? ", filter: $filter" : ""}) { totalCount edges { node { status amount { amount currency } } } }`
            : "";
          return { text: `query${defs.length ? `(${defs.join(", ")})` : ""} { x: ${name}(${args.join(", ")}) { ${figures} }${list} }`, variables };
        };
        const where = (what: string) => `Query.${name} as ${asker.label}${what}`;
        const allowed = mayAggregate(rule, asker.who);
        const ledger = ledgers.get(asker.programId)!;

        if (!allowed) {
          count("figures");
          const { text, variables } = request(undefined);
          const part = aliasPart(await askAs(asker, text, variables), "x");
          if (part.data !== null) fail(where(""), `refused figure answered ${JSON.stringify(part.data).slice(0, 200)}`);
          if (part.errors.length !== 1 || part.errors[0]!.code !== refusedCode(asker))
            fail(where(""), `expected one ${refusedCode(asker)} error, got ${JSON.stringify(part.errors).slice(0, 300)}`);
          if (rule.partnerArg) {
            // Refused before anything is read: a partner that exists reads like one that does not.
            count("figures");
            const phantom = f.phantom("Partner");
            const [real, ghost] = await Promise.all([
              askAs(asker, request(partnerNamed.own).text, request(partnerNamed.own).variables),
              askAs(asker, request(phantom).text, request(phantom).variables),
            ]);
            if (normalized(aliasPart(real, "x"), [partnerNamed.own]) !== normalized(aliasPart(ghost, "x"), [phantom]))
              fail(where(" naming a partner"), "answers differently than for a partner that does not exist");
          }
          return;
        }

        /** Asks and compares with what the asker may read: the ledger's figures, and for totals the list it totals. */
        const check = async (label: string, named: string | undefined, filter: Json | undefined, expected: Json | undefined) => {
          count("figures");
          const { text, variables } = request(named, filter);
          const response = await askAs(asker, text, variables);
          const part = aliasPart(response, "x");
          if (part.errors.length || !part.data) return fail(where(label), `allowed, answered ${JSON.stringify(part).slice(0, 300)}`);
          const got = JSON.stringify(canon(part.data));
          if (expected !== undefined && got !== JSON.stringify(canon(expected)))
            fail(where(label), `differs from the records it may read at ${firstDifference(canon(part.data), canon(expected))}`);
          if (rule.totalsOf) {
            const listed = aliasPart(response, "l");
            if (listed.errors.length || !listed.data) return fail(where(label), `its list answered ${JSON.stringify(listed).slice(0, 300)}`);
            if (listed.data.totalCount > 100) return fail(where(label), "lists more than a page: raise the fixture's page");
            const shown = totalsOf(
              listed.data.edges.map((edge: Json) => ({ status: edge.node.status, amount: edge.node.amount.amount })),
              ledger.currency,
            );
            if (got !== JSON.stringify(canon(shown))) fail(where(label), `differs from what ${rule.totalsOf.list} lists at ${firstDifference(canon(part.data), canon(shown))}`);
          }
          leakCheck(where(label), asker, response, named ? [named] : []);
        };
        /** The figures a partner (raw id) or the program (null) has in the asker's program. */
        const expectedFor = (partner: string | null): Json => {
          if (!rule.totalsOf) return FIGURES[name]!.expected(ledger, partner);
          const rows = rule.sums[0] === "commission" ? ledger.lines : ledger.payouts;
          return totalsOf(
            rows.filter((row) => partner === null || row.partnerId === partner),
            ledger.currency,
          );
        };

        // Unnamed: the program's figures, or a partner's own.
        await check("", undefined, undefined, expectedFor(asker.partner));
        // Totals with each filter the list takes equal what the list shows.
        if (rule.totalsOf) {
          for (const [key, value] of Object.entries(FILTER_SAMPLES[rule.totalsOf.filter] ?? {}))
            if (key !== "partnerId") await check(` with filter ${key}`, undefined, { [key]: value(sample) }, undefined);
        }
        if (!rule.partnerArg) return;
        const phantom = f.phantom("Partner");
        for (const owner of TARGETS) {
          const named = partnerNamed[owner];
          const inProgram = programOf(named) === asker.programId;
          if (inProgram && (asker.partner === null || rawOf(named) === asker.partner)) {
            await check(` naming ${owner}'s partner`, named, undefined, expectedFor(rawOf(named)!));
            continue;
          }
          // Another program's partner (or, for a partner, any other) reads like a partner that does not exist:
          // refused for a partner, nothing summed for the others.
          count("figures");
          const real = request(named);
          const ghost = request(phantom);
          const [mine, theirs] = await Promise.all([askAs(asker, real.text, real.variables), askAs(asker, ghost.text, ghost.variables)]);
          const a = normalized(aliasPart(mine, "x"), [named]);
          const b = normalized(aliasPart(theirs, "x"), [phantom]);
          if (a !== b) fail(where(` naming ${owner}'s partner`), `answers differently than for a partner that does not exist: ${a.slice(0, 300)} vs ${b.slice(0, 300)}`);
          const part = aliasPart(mine, "x");
          if (asker.partner !== null) {
            if (part.data !== null || part.errors.length !== 1 || part.errors[0]!.code !== "FORBIDDEN")
              fail(where(` naming ${owner}'s partner`), `expected one FORBIDDEN error, got ${JSON.stringify(part).slice(0, 300)}`);
          } else if (part.errors.length || JSON.stringify(canon(part.data)) !== JSON.stringify(canon(expectedFor(rawOf(named)!)))) {
            fail(
              where(` naming ${owner}'s partner`),
              part.errors.length
                ? `answered ${JSON.stringify(part.errors).slice(0, 300)}`
                : `sums something at ${firstDifference(canon(part.data), canon(expectedFor(rawOf(named)!)))}`,
            );
          }
          // The id it named may come back (a series says whose it is): it reads alike for an id of nothing.
          leakCheck(where(` naming ${owner}'s partner`), asker, mine, [named]);
        }
      },
    );

    // Records behind a figure (the partner of a ranking's row): for those who read that kind.
    for (const { name, rule } of aggregates) {
      const type = getNamedType(query.getFields()[name]!.type) as GraphQLObjectType;
      for (const [fieldName, fieldRule] of Object.entries(TYPES[type.name]?.fields ?? {})) {
        if (typeof fieldRule !== "object" || !("to" in fieldRule)) continue;
        for (const asker of askersOf(name)) {
          if (!mayAggregate(rule, asker.who)) continue;
          count("figures");
          const where = `Query.${name}.${fieldName} as ${asker.label}`;
          const args = rule.totalsOf ? "" : `(${FIGURES[name]!.args})`;
          const part = aliasPart(await askAs(asker, `{ x: ${name}${args} { partnerId ${fieldName} { __typename id } } }`, {}), "x");
          const reads = typeof asker.who === "string" ? canRead(asker.who, fieldRule.to, "own") : scopesRead(asker.who.scopes, fieldRule.to);
          if (reads) {
            const rows = (part.data ?? []) as Json[];
            if (part.errors.length || !rows.length || rows.some((row) => row[fieldName]?.id !== row.partnerId))
              fail(where, `allowed, answered ${JSON.stringify(part).slice(0, 300)}`);
          } else if (part.data !== null || !part.errors.length || part.errors.some((error) => error.code !== "FORBIDDEN")) {
            fail(where, `expected FORBIDDEN and no rows, got ${JSON.stringify(part).slice(0, 300)}`);
          }
          leakCheck(where, asker, part);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it("runs every mutation as each role on each owner's record, and a refused one changes nothing", async () => {
    for (const [name, rule] of Object.entries(MUTATIONS)) {
      const field = mutation.getFields()[name]!;
      const inputType = getNamedType(field.args[0]!.type) as GraphQLInputObjectType;
      const payload = getNamedType(field.type) as GraphQLObjectType;
      const selection = Object.values(payload.getFields())
        .map((p) => (p.name === "userErrors" ? "userErrors { code message field }" : fieldSelection(p)))
        .join(" ");
      const text = `mutation($input: ${inputType.name}!) { x: ${name}(input: $input) { ${selection} } }`;
      const kindOf = (typeName: string) => TYPES[typeName]?.kind;
      const targetType = rule.target ? Object.entries(TYPES).find(([, r]) => r.kind === rule.target && !r.reach)?.[0] : undefined;
      const idOf = (owner: Target) =>
        rule.target === "payoutMethod" && name === "removePayoutMethod"
          ? f.spare.payoutMethod[owner]
          : rule.target === "integrationToken"
            ? f.spare.integrationToken[owner]
            : rule.target
              ? f.ids[rule.target][owner]
              : "";
      const run = (id: string, n: number, role: Role) => ask(text, { input: completeInput(inputType, INPUTS[name]!(id, n, f), n) }, role);

      for (const role of ROLES) {
        const allowed = rule.roles.includes(role);
        // Ids that must read like ids of nothing: every record for a refused role; another program's; another partner's for a partner.
        const probes: Target[] = !rule.target ? [] : !allowed ? ["own", "other", "foreign"] : role === "partner" ? ["other", "foreign"] : ["foreign"];
        const before = probes.length || !allowed ? await fingerprint() : "";
        for (const owner of probes) {
          count("mutations");
          const where = `Mutation.${name} as ${role} naming ${owner}'s record`;
          const n = ++serial;
          const id = idOf(owner);
          const phantom = f.phantom(targetType!);
          // A refused call is refused before its input is read: its answer for an id of nothing is asked once.
          const real = await run(id, n, role);
          const ghost = allowed ? await run(phantom, n, role) : await askGhost(text, { input: completeInput(inputType, INPUTS[name]!(f.phantomOf(targetType!), 0, f), 0) }, role);
          const mine = normalized(aliasPart(real, "x"), [id]);
          const theirs = normalized(aliasPart(ghost, "x"), [phantom, f.phantomOf(targetType!)]);
          if (mine !== theirs) fail(where, `answers differently than for an id that names nothing: ${mine.slice(0, 300)} vs ${theirs.slice(0, 300)}`);
          if (!allowed) checkRefused(where, role, aliasPart(real, "x"));
          checkLeaks(where, role, real, [id]);
        }
        if (!allowed && !rule.target) {
          count("mutations");
          checkRefused(`Mutation.${name} as ${role}`, role, aliasPart(await run("", ++serial, role), "x"));
        }
        if (before && (await fingerprint()) !== before) fail(`Mutation.${name} as ${role}`, "a refused or not-found call changed the database");
        if (!allowed) continue;
        for (const by of rule.keys ?? []) {
          // Looking a record up by key reads it: a role that may not read the kind must learn nothing, even of its own program's.
          const readsKind = canRead(role, rule.target!, "own", { inPayload: true });
          for (const owner of readsKind ? (["foreign"] as const) : TARGETS) {
            count("mutations");
            const where = `Mutation.${name} as ${role} naming ${owner}'s record by ${by}`;
            const key = keyOf(rule.target!, owner, by);
            const phantom = `nobody-${by}-${serial}${by === "email" ? "@partners.test" : ""}`;
            const n = ++serial;
            const before = await fingerprint();
            const real = await ask(text, { input: completeInput(inputType, KEYED_INPUTS[name]!(by, key, n), n) }, role);
            const ghost = await ask(text, { input: completeInput(inputType, KEYED_INPUTS[name]!(by, phantom, n), n) }, role);
            if (normalized(aliasPart(real, "x"), [key]) !== normalized(aliasPart(ghost, "x"), [phantom])) {
              fail(
                where,
                `answers differently than for a key that names nothing: ${normalized(aliasPart(real, "x"), [key]).slice(0, 300)} vs ${normalized(aliasPart(ghost, "x"), [phantom]).slice(0, 300)}`,
              );
            }
            if ((await fingerprint()) !== before) fail(where, "changed the database");
          }
        }
        count("mutations");
        const where = `Mutation.${name} as ${role}${rule.target ? " on its own record" : ""}`;
        const response = await run(rule.target ? idOf("own") : "", ++serial, role);
        const part = aliasPart(response, "x");
        for (const error of part.errors) {
          // The one error an allowed mutation may answer: a payload record its role may not read.
          const payloadField = error.path?.[1] as string | undefined;
          const type = payloadField && payload.getFields()[payloadField] ? getNamedType(payload.getFields()[payloadField]!.type).name : undefined;
          const kind = type ? kindOf(type) : undefined;
          if (!(kind && !canRead(role, kind, "own", { inPayload: true }) && error.code === "FORBIDDEN")) fail(where, `allowed, answered ${JSON.stringify(error).slice(0, 300)}`);
        }
        if (!part.data) {
          if (!part.errors.length) fail(where, "allowed, answered no payload");
          continue;
        }
        for (const [payloadField, value] of Object.entries(part.data as Json)) {
          const type = getNamedType(payload.getFields()[payloadField]!.type).name;
          const kind = kindOf(type);
          if (kind && value != null && !canRead(role, kind, "own", { inPayload: true })) fail(where, `shows ${type} in its payload`);
        }
        checkLeaks(where, role, part, [idOf("own")]);
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it("reports its size and time", () => {
    const cases = Object.values(counts).reduce((a, b) => a + b, 0);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `access matrix on ${target}: ${cases} (path, role, record) cases in ${seconds} s — ${Object.entries(counts)
        .map(([area, n]) => `${area} ${n}`)
        .join(", ")}`,
    );
    expect(cases).toBeGreaterThan(1000);
  });
});
