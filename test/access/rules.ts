/**
 * The access matrix's oracle: who may read and do what, written from
 * DESIGN.md's Auth section and README.md ("A first query", "Suspended and
 * archived partners", "Exports", "Live feed"), NOT from the product's own
 * rules (src/auth/read-rules.ts, guards.ts): nothing here is imported from
 * src/, so a product rule that drifts from the documents fails the matrix
 * instead of agreeing with itself.
 *
 * Every path the schema walk finds (matrix.test.ts) must have a rule here:
 * root fields, every field and argument of every type, mutations and their
 * payloads, subscriptions, exports. A path without one fails the matrix
 * with a message naming what to add.
 */

export type Scope = "conversions:write" | "conversions:read" | "partners:write" | "partners:read" | "commissions:read" | "payouts:read" | "payouts:write";
/** DESIGN.md: "integration: scopes from conversions:write, conversions:read, partners:write, partners:read, commissions:read, payouts:read, payouts:write". */
export const SCOPES: readonly Scope[] = ["conversions:write", "conversions:read", "partners:write", "partners:read", "commissions:read", "payouts:read", "payouts:write"];

export type Role = "anonymous" | "platform" | "admin" | "finance" | "analyst" | "partner" | `integration:${Scope}`;
export const ROLES: readonly Role[] = ["anonymous", "platform", "admin", "finance", "analyst", "partner", ...SCOPES.map((scope) => `integration:${scope}` as const)];

const OPERATORS: readonly Role[] = ["admin", "finance", "analyst"];
const IN_PROGRAM: readonly Role[] = [...OPERATORS, "partner"];
const integration = (...scopes: Scope[]): Role[] => scopes.map((scope) => `integration:${scope}` as const);
const ANY_INTEGRATION = integration(...SCOPES);

/**
 * Kinds of record. `own` records are partner P1's (the partner role's own),
 * `other` partner P2's in the same program, `foreign` partner Q1's in
 * another program. Program-level kinds have no partner: their `own` and
 * `other` are the same program's record.
 */
export type Kind =
  | "program"
  | "partner"
  | "conversion"
  | "reversal"
  | "commission"
  | "balance"
  | "payout"
  | "payoutRun"
  | "payoutLine"
  | "payoutMethod"
  | "billingProfile"
  | "auditEntry"
  | "integrationToken"
  | "accounting"
  | "paymentProvider";
export type Target = "own" | "other" | "foreign";
export const TARGETS: readonly Target[] = ["own", "other", "foreign"];

export interface ReadRule {
  /** Roles that read the kind in their program (a partner: its own records only, see `partnerOwned`). */
  roles: readonly Role[];
  /** Scopes that read it only in the payload of a mutation they ran ("a write scope also shows what it wrote"). */
  payload?: readonly Role[];
  /** A partner reads its own records of this kind only (false: program-level, none of a partner's business, or read by all). */
  partnerOwned: boolean;
}

/**
 * README "A first query": "`partners:read` for partners, `conversions:read`
 * for conversions, `commissions:read` for commissions and balances,
 * `payouts:read` for payouts (with their lines and the balance) and payment
 * details; a write scope also shows what it wrote". DESIGN.md: operators
 * read their program's records (analyst everything, masked), a partner its
 * own through every path, audit trail for operators, integration tokens are
 * the admin's.
 */
export const READ: Record<Kind, ReadRule> = {
  // "program: The program of the token": every program role and integration token reads its own program.
  // The platform role reads the programs it creates (and lists them all: Query.programs).
  program: { roles: [...IN_PROGRAM, ...ANY_INTEGRATION], payload: ["platform"], partnerOwned: false },
  partner: { roles: [...IN_PROGRAM, ...integration("partners:read")], payload: integration("partners:write"), partnerOwned: true },
  conversion: { roles: [...IN_PROGRAM, ...integration("conversions:read")], payload: integration("conversions:write"), partnerOwned: true },
  reversal: { roles: [...IN_PROGRAM, ...integration("conversions:read")], payload: integration("conversions:write"), partnerOwned: true },
  // A posted conversion's lines are what conversions:write wrote; a payout's lines are part of the payout.
  commission: { roles: [...IN_PROGRAM, ...integration("commissions:read")], payload: integration("conversions:write", "payouts:write"), partnerOwned: true },
  balance: { roles: [...IN_PROGRAM, ...integration("commissions:read", "payouts:read")], partnerOwned: true },
  payout: { roles: [...IN_PROGRAM, ...integration("payouts:read")], payload: integration("payouts:write"), partnerOwned: true },
  payoutLine: { roles: [...IN_PROGRAM, ...integration("payouts:read")], payload: integration("payouts:write"), partnerOwned: true },
  // Issue 15: "a payout run is a stored, queryable record" for the payers (admin, finance), not partners;
  // "a write scope also shows what it wrote": a payouts:write token sees the run it made, in its payload.
  payoutRun: { roles: ["admin", "finance"], payload: integration("payouts:write"), partnerOwned: false },
  payoutMethod: { roles: [...IN_PROGRAM, ...integration("payouts:read")], partnerOwned: true },
  billingProfile: { roles: [...IN_PROGRAM, ...integration("payouts:read")], partnerOwned: true },
  auditEntry: { roles: OPERATORS, partnerOwned: false },
  integrationToken: { roles: ["admin"], partnerOwned: false },
  accounting: { roles: OPERATORS, partnerOwned: false },
  // README "Payment rails": "An admin connects a program to a provider"; the connection (which account
  // pays the partners, where its webhooks land) is the admin's, like the settings (docs/payment-rails.md).
  paymentProvider: { roles: ["admin"], partnerOwned: false },
};

/** Whether an integration token with all of `scopes` reads `kind` (a scope set the matrix's roles, one scope each, do not cover). */
export function scopesRead(scopes: readonly Scope[], kind: Kind): boolean {
  return scopes.some((scope) => READ[kind].roles.includes(`integration:${scope}`));
}

/** Whether `role` reads a record of `kind` owned as `target` (foreign records: never, another program's are not found). */
export function canRead(role: Role, kind: Kind, target: Target, options: { inPayload?: boolean } = {}): boolean {
  const rule = READ[kind];
  if (target === "foreign") return false;
  const allowed = rule.roles.includes(role) || (!!options.inPayload && !!rule.payload?.includes(role));
  if (!allowed) return false;
  if (role === "partner" && rule.partnerOwned) return target === "own";
  return true;
}

// ─── Fields of types ────────────────────────────────────────────────────────

export type FieldRule =
  /** Part of the record: readable whenever the record is. */
  | "same"
  /** A relation to another record (or list, or connection): readable when that kind is. */
  | { to: Kind; args?: readonly string[]; connection?: boolean; via?: "payoutLine"; snapshot?: true }
  /** Narrowed to some roles (who must also read the record). */
  | { only: readonly Role[] }
  /** Resolves for every reader; holds a value only for the partner the record belongs to. */
  | "ownerOnly"
  /** Resolves for every reader; null for partners (the integrator's own data may name the customer). */
  | "hiddenFromPartners";

export interface TypeRule {
  /** The kind of record; absent for value types (amounts, rules, schedules), read with whatever holds them. */
  kind?: Kind;
  /** How the matrix reaches a record type that `node` cannot load: the parent's kind and field. */
  reach?: { from: Kind; field: string };
  /** A record read only through this root field (and mutation payloads): checked there, not in the type sweep. */
  viaRoot?: string;
  fields: Record<string, FieldRule>;
}

const CONNECTION_ARGS = ["after", "before", "first", "last"] as const;
const same = (...names: string[]): Record<string, FieldRule> => Object.fromEntries(names.map((name) => [name, "same" as const]));

/** Every object type of the schema but the roots, connections and payloads (those are ruled below). */
export const TYPES: Record<string, TypeRule> = {
  Program: {
    kind: "program",
    fields: {
      ...same(
        "id",
        "name",
        "currency",
        "timeZone",
        "commissionRule",
        "holdPeriodDays",
        "minimumPayout",
        "payoutSchedule",
        "approvalMode",
        "allowPayoutRequests",
        "createdAt",
        "updatedAt",
      ),
      // Issue 15: the program's dual-control amount is a setting like the minimum payout: every reader of the program reads it.
      dualControlAbove: "same",
      // README "Analytics": the date of the next scheduled run. It sums no records (so needs no scope) and
      // follows from `payoutSchedule`, which every reader of the program reads: part of the program.
      nextPayoutRunOn: "same",
    },
  },
  Partner: {
    kind: "partner",
    fields: {
      ...same("id", "externalId", "email", "name", "status", "country", "commissionRuleOverride", "createdAt", "updatedAt"),
      // README: "`commissions:read` for commissions and balances", whatever path reaches them.
      commissions: { to: "commission", connection: true, args: [...CONNECTION_ARGS, "filter"] },
      payouts: { to: "payout", connection: true, args: CONNECTION_ARGS },
      balance: { to: "balance" },
      // The balance at a past instant (a value, not a node): read exactly as the balance is.
      balanceAsOf: { to: "balance", args: ["at"], snapshot: true },
      payoutMethods: { to: "payoutMethod" },
      billingProfile: { to: "billingProfile" },
      // QuickBooks ids are the operators' business.
      accountingVendorId: { only: OPERATORS },
    },
  },
  Conversion: {
    kind: "conversion",
    fields: {
      ...same("id", "externalId", "amount", "exchangeRate", "programAmount", "reversedAmount", "occurredAt", "createdAt"),
      metadata: "hiddenFromPartners",
      commissions: { to: "commission" },
      reversals: { to: "reversal" },
    },
  },
  Reversal: {
    kind: "reversal",
    fields: { ...same("id", "refundId", "kind", "amount", "reason", "occurredAt", "createdAt"), conversion: { to: "conversion" }, commissions: { to: "commission" } },
  },
  Commission: {
    kind: "commission",
    fields: {
      ...same(
        "id",
        "kind",
        "status",
        "amount",
        "partnerId",
        "rule",
        "tierSequence",
        "occurredAt",
        "payableAt",
        "isPayable",
        "heldFromStatus",
        "statusReason",
        "reasonCode",
        "note",
        "createdBy",
        "paidAt",
        "createdAt",
        "updatedAt",
      ),
      partner: { to: "partner" },
      conversion: { to: "conversion" },
      reversal: { to: "reversal" },
      related: { to: "commission" },
      corrections: { to: "commission" },
    },
  },
  Balance: {
    kind: "balance",
    reach: { from: "partner", field: "balance" },
    fields: {
      ...same(
        "partnerId",
        "pending",
        "payable",
        "inPayouts",
        "paid",
        "lifetimeEarned",
        "recoverable",
        "updatedAt",
        "payoutBlockers",
        "payableCommissionCount",
        "payableRevenue",
        "lastPaidAt",
      ),
      partner: { to: "partner" },
    },
  },
  Payout: {
    kind: "payout",
    fields: {
      ...same(
        "id",
        "partnerId",
        "status",
        "amount",
        "payableBefore",
        "minimumOverrideReason",
        "method",
        "reference",
        "notes",
        "sentAmount",
        "fee",
        "approvedAt",
        "paidAt",
        "cancelledAt",
        "cancelReason",
        "bouncedAt",
        "bounceReason",
        "createdBy",
        "createdAt",
        "updatedAt",
        "lineCount",
        "accountingSyncStatus",
      ),
      // Issue 15: who approved and sent it, and what the provider said (the partner sees why its payout failed).
      ...same("approvedBy", "sentAt", "sentBy", "failedAt", "failureReason", "returnedAt", "providerNote"),
      partner: { to: "partner" },
      lines: { to: "payoutLine", args: ["includeRemoved"] },
      accountingSyncError: { only: OPERATORS },
      accountingBillId: { only: OPERATORS },
      // Issue 15: the run that drafted it, for those who read runs.
      run: { to: "payoutRun" },
      // Issue 15: each send attempt (provider ids, keys, fees) is the operators' record, like the accounting ids;
      // the partner reads why its payout failed on the payout itself (failureReason, providerNote).
      transfers: { only: OPERATORS },
      // Issue 15: what the provider reconciliation found, shown to the operators who read the attempts.
      providerDiscrepancy: { only: OPERATORS },
    },
  },
  PayoutRun: {
    kind: "payoutRun",
    fields: {
      ...same("id", "trigger", "payableBefore", "createdBy", "createdAt", "finishedAt", "totals"),
      // Who was skipped and why: part of the run (the partner behind a row is ruled on SkippedPartner).
      skipped: "same",
      payouts: { to: "payout", connection: true, args: CONNECTION_ARGS },
    },
  },
  PayoutLine: {
    kind: "payoutLine",
    reach: { from: "payout", field: "lines" },
    // "payouts:read for payouts (with their lines…)": the line's commission is read with the payout.
    fields: { ...same("amount", "active"), commission: { to: "commission", via: "payoutLine" } },
  },
  PayoutMethod: {
    kind: "payoutMethod",
    fields: {
      ...same(
        "id",
        "type",
        "isDefault",
        "label",
        "currency",
        "email",
        "accountName",
        "bic",
        "bankName",
        "bankAddress",
        "routingNumber",
        "accountType",
        "handle",
        "phone",
        "payeeName",
        "mailingAddress",
        "instructions",
        "maskedNumber",
        "createdAt",
      ),
      // README "Payment rails": a Wise method's sort code, a Stripe method's connected account, and whether
      // the provider verified it are payment details like the rest (not the full number, which stays the owner's).
      ...same("sortCode", "accountId", "verificationStatus", "verifiedWith", "verifiedAt"),
      // DESIGN: full bank details are revealed to operators only through an audited mutation.
      number: "ownerOnly",
    },
  },
  BillingProfile: {
    kind: "billingProfile",
    reach: { from: "partner", field: "billingProfile" },
    fields: {
      ...same("entityType", "legalName", "maskedTaxId", "vatId", "addressLine1", "addressLine2", "city", "region", "postalCode", "country", "taxForm", "updatedAt"),
      taxId: "ownerOnly",
    },
  },
  AuditEntry: { kind: "auditEntry", fields: same("id", "actorRole", "actorId", "action", "entityType", "recordId", "before", "after", "reason", "createdAt") },
  IntegrationToken: { kind: "integrationToken", fields: same("id", "name", "scopes", "createdBy", "createdAt", "expiresAt", "revokedAt") },
  AccountingConnection: {
    kind: "accounting",
    viaRoot: "accountingConnection",
    fields: same("provider", "status", "realmId", "expenseAccountId", "bankAccountId", "connectedBy", "connectedAt", "disconnectedAt", "changesCheckedAt"),
  },
  PaymentProviderConnection: {
    kind: "paymentProvider",
    viaRoot: "paymentProviderConnections",
    fields: same("provider", "environment", "status", "accountLabel", "webhookPath", "connectedBy", "connectedAt", "disconnectedAt"),
  },

  // Value types: read with whatever holds them.
  Money: { fields: same("amount", "currency") },
  CommissionRule: { fields: same("type", "amount", "percent", "tiers") },
  CommissionTier: { fields: same("upTo", "percent", "amount") },
  PayoutSchedule: { fields: same("frequency", "weekday", "anchorDate", "dayOfMonth") },
  PageInfo: { fields: same("startCursor", "endCursor", "hasNextPage", "hasPreviousPage") },
  UserError: { fields: same("code", "message", "field") },
  SkippedItem: { fields: same("id", "code", "message") },
  // A payout's send attempts, read with the field that returns them (Payout.transfers: operators).
  PayoutTransfer: {
    fields: same(
      "attempt",
      "provider",
      "status",
      "idempotencyKey",
      "batchKey",
      "providerTransferId",
      "providerBatchId",
      "amount",
      "fee",
      "sentAmount",
      "rate",
      "reason",
      "lastEventAt",
      "checkedAt",
      "createdAt",
      "updatedAt",
    ),
  },
  ProviderDiscrepancy: { fields: same("kind", "message", "providerStatus", "providerAmount", "recordedAmount", "providerFee", "recordedFee", "foundAt") },
  // A run's figures, read with the run.
  PayoutRunTotals: { fields: same("drafted", "sent", "failed", "paid", "returned", "cancelled") },
  PayoutRunTotal: { fields: same("count", "amount") },
  SkippedPartner: { fields: { ...same("reason", "message"), partner: { to: "partner" } } },
  RevealedNumber: { fields: same("number") },
  QuickBooksAuthorization: { fields: same("authorizeUrl") },
  IssuedIntegrationToken: { fields: { token: "same", integrationToken: { to: "integrationToken" } } },
  ReconcileReport: { fields: same("ok", "checkedPartners", "mismatches") },
  BalanceMismatch: { fields: { ...same("bucket", "source", "projected", "computed"), partner: { to: "partner" } } },
  // Partner.balanceAsOf's answer, read with the rule of the field that returns it.
  BalanceAsOf: { fields: same("at", "pending", "payable", "inPayouts", "paid", "lifetimeEarned") },
  PayoutsOverview: {
    fields: same(
      "owedToPartners",
      "recoverable",
      "payableNow",
      "payableNowPartners",
      "pending",
      "draftsAwaitingApproval",
      "draftsAmount",
      "approvedAwaitingPayment",
      "approvedAmount",
      "paidThisMonth",
      "paidThisMonthCount",
    ),
  },
  Viewer: { fields: { ...same("role", "subject", "scopes", "expiresAt"), program: { to: "program" }, partner: { to: "partner" } } },
  // The live feed's events (README "Live feed").
  // `payout` is a snapshot of the payout (PayoutChange), ruled as the payout itself.
  // `ended` says why the server ended the feed (README "Live feed": TOKEN_EXPIRED, TOKEN_REVOKED): part of the event.
  FeedEvent: {
    fields: {
      ...same("type", "cursor", "sequence", "partnerId", "occurredAt", "committedAt", "commission", "balance", "fellBehind", "ended"),
      payout: { to: "payout", snapshot: true },
    },
  },
  FeedEnded: { fields: same("reason") },
  CommissionChange: { fields: same("id", "kind", "status", "amount", "conversionId", "relatedId", "payableAt", "payable") },
  BalanceChange: { fields: same("pending", "payable", "inPayouts", "paid", "lifetimeEarned") },
  PayoutChange: { fields: same("id", "status", "amount", "method", "reference", "paidAt") },
  FellBehind: { fields: same("reason", "dropped") },
  // README "Reliability": `scheduledTasks` (platform role) is the only path to these.
  ScheduledTask: { fields: same("task", "failures", "lastFailedAt", "lastError", "lastSucceededAt") },
  // README "Analytics": figures, read with the root field that computes them (see AGGREGATES below).
  CommissionTotals: { fields: same("count", "amount", "byStatus") },
  CommissionStatusTotal: { fields: same("status", "count", "amount") },
  PayoutTotals: { fields: same("count", "amount", "byStatus") },
  PayoutStatusTotal: { fields: same("status", "count", "amount") },
  EarningsSeries: { fields: same("period", "from", "to", "timeZone", "partnerId", "points") },
  EarningsPoint: { fields: same("periodStart", "sales", "conversions", "accrued", "reversed", "paidOut") },
  // The ranking's figures are for whoever may ask for it; the partner record behind a row only for those who read partners.
  PartnerEarnings: { fields: { ...same("partnerId", "earned", "accrued", "reversed", "sales", "conversions"), partner: { to: "partner" } } },
};

// ─── Root query fields ──────────────────────────────────────────────────────

export type QueryRule =
  /** A connection of records: `roles` may call it (narrower than the kind's readers where the docs say so). */
  | { list: Kind; roles: readonly Role[]; args: readonly string[]; sorts?: string; filter?: string; subset?: true }
  /** One record by `id` or another key of the target. */
  | { one: Kind; by: "id" | "externalId"; roles: readonly Role[] }
  | { node: "one" | "many" }
  /** Not a record of one partner: who may call it. */
  | { value: readonly Role[] }
  /** Figures summed over records (README "Analytics"). */
  | { aggregate: AggregateRule };

/**
 * A figure holds no ids to check for leaks, so the matrix checks its value:
 * equal to the same figure computed past the API from the records the asker
 * may read (its program's; a partner's own), and, for totals, to what the
 * list it totals shows the asker.
 */
export interface AggregateRule {
  /** The kinds of record it sums. README: "An integration token needs a scope for everything a figure sums". */
  sums: readonly Kind[];
  /** Who else may ask (roles, not integrations). */
  roles: readonly Role[];
  args: readonly string[];
  /** The list it counts and sums ("count and sum of exactly what `commissions(filter)` … list"), with that list's filter. */
  totalsOf?: { list: string; filter: string };
  /**
   * Where the asker may name one partner: an argument, or the filter's field. A partner gets its own figures
   * only, and naming another partner is refused alike whether that partner exists or not (DESIGN "Auth").
   */
  partnerArg?: "partnerId" | "filter.partnerId";
}

/** Whether an asker (a role, or an integration token with several scopes) may ask for the figure. */
export function mayAggregate(rule: AggregateRule, who: Role | { scopes: readonly Scope[] }): boolean {
  if (typeof who === "object") return rule.sums.every((kind) => scopesRead(who.scopes, kind));
  if (rule.roles.includes(who)) return true;
  return who.startsWith("integration:") && rule.sums.every((kind) => READ[kind].roles.includes(who));
}

export const QUERIES: Record<string, QueryRule> = {
  node: { node: "one" },
  nodes: { node: "many" },
  viewer: { value: ["platform", ...IN_PROGRAM, ...ANY_INTEGRATION] },
  program: { value: [...IN_PROGRAM, ...ANY_INTEGRATION] },
  // "platform: creates and lists programs (the only cross-program role)".
  programs: { value: ["platform"] },
  // Partners list partners? No: a partner sees its own record only (through partner and viewer).
  partners: {
    list: "partner",
    roles: [...OPERATORS, ...integration("partners:read")],
    args: [...CONNECTION_ARGS, "filter", "sort"],
    sorts: "PartnerSortField",
    filter: "PartnerFilter",
  },
  partner: { one: "partner", by: "id", roles: READ.partner.roles },
  partnerByExternalId: { one: "partner", by: "externalId", roles: [...OPERATORS, ...integration("partners:read")] },
  commissions: { list: "commission", roles: READ.commission.roles, args: [...CONNECTION_ARGS, "filter", "sort"], sorts: "CommissionSortField", filter: "CommissionFilter" },
  commission: { one: "commission", by: "id", roles: READ.commission.roles },
  conversions: { list: "conversion", roles: READ.conversion.roles, args: [...CONNECTION_ARGS, "filter", "sort"], sorts: "ConversionSortField", filter: "ConversionFilter" },
  conversion: { one: "conversion", by: "id", roles: READ.conversion.roles },
  conversionByExternalId: { one: "conversion", by: "externalId", roles: READ.conversion.roles },
  payouts: { list: "payout", roles: READ.payout.roles, args: [...CONNECTION_ARGS, "filter", "sort"], sorts: "PayoutSortField", filter: "PayoutFilter" },
  payout: { one: "payout", by: "id", roles: READ.payout.roles },
  payoutRuns: { list: "payoutRun", roles: READ.payoutRun.roles, args: CONNECTION_ARGS },
  payoutRun: { one: "payoutRun", by: "id", roles: READ.payoutRun.roles },
  // Dashboards over every partner: operators.
  partnerBalances: { list: "balance", roles: OPERATORS, args: [...CONNECTION_ARGS, "filter", "sort"], sorts: "BalanceSortField", filter: "BalanceFilter" },
  // Only balances with something payable: a subset of the program's.
  pendingPayouts: { list: "balance", roles: OPERATORS, args: CONNECTION_ARGS, subset: true },
  payoutsOverview: { value: OPERATORS },
  auditEntries: { list: "auditEntry", roles: OPERATORS, args: [...CONNECTION_ARGS, "filter"], filter: "AuditFilter" },
  integrationTokens: { list: "integrationToken", roles: ["admin"], args: CONNECTION_ARGS },
  // "a reconcile query for admins".
  reconcileBalances: { value: ["admin"] },
  accountingConnection: { value: OPERATORS },
  // README "Payment rails": an admin connects providers; the connections are the admin's (READ.paymentProvider).
  paymentProviderConnections: { value: READ.paymentProvider.roles },
  // README "Scheduled work": "`{ scheduledTasks { … } }` (platform role)": system bookkeeping, not a program's.
  scheduledTasks: { value: ["platform"] },
  // README "Analytics": totals are "readable as those lists are"; commission totals need commissions:read, payout totals payouts:read.
  commissionTotals: {
    aggregate: { sums: ["commission"], roles: IN_PROGRAM, args: ["filter"], totalsOf: { list: "commissions", filter: "CommissionFilter" }, partnerArg: "filter.partnerId" },
  },
  payoutTotals: { aggregate: { sums: ["payout"], roles: IN_PROGRAM, args: ["filter"], totalsOf: { list: "payouts", filter: "PayoutFilter" }, partnerArg: "filter.partnerId" } },
  // "for the program, or one partner (a partner token always gets its own)"; integrations need commissions:read,
  // payouts:read and conversions:read ("those two and conversions:read for series").
  earningsSeries: { aggregate: { sums: ["commission", "payout", "conversion"], roles: IN_PROGRAM, args: ["period", "from", "to", "partnerId"], partnerArg: "partnerId" } },
  // "who earned most …, for operators"; integrations need "commissions:read and conversions:read for the ranking".
  topPartners: { aggregate: { sums: ["commission", "conversion"], roles: OPERATORS, args: ["from", "to", "first"] } },
};

// ─── Mutations ──────────────────────────────────────────────────────────────

/** Who may run a mutation, from DESIGN.md's roles and the README. */
export interface MutationRule {
  roles: readonly Role[];
  /** The kind of record the input names (ids of own / other / foreign records are swapped in). */
  target?: Kind;
  /**
   * The input may name the target by a key of its own (an external id, an
   * email) instead of its id: finding it by key reads it, so a role that may
   * not read the kind learns nothing from the answer.
   */
  keys?: readonly ("externalId" | "email")[];
}

const REVIEWERS: Role[] = ["admin", "finance"];
// "partner: manages its own payout methods and billing details"; admin and finance for any partner.
const DETAIL_WRITERS: Role[] = ["admin", "finance", "partner"];
const PAYOUT_WRITERS: Role[] = ["admin", "finance", ...integration("payouts:write")];

export const MUTATIONS: Record<string, MutationRule> = {
  createProgram: { roles: ["platform"] },
  updateProgramSettings: { roles: ["admin"] },
  createPartner: { roles: ["admin", ...integration("partners:write")] },
  updatePartner: { roles: ["admin", ...integration("partners:write")], target: "partner" },
  issueIntegrationToken: { roles: ["admin"] },
  revokeIntegrationToken: { roles: ["admin"], target: "integrationToken" },
  // DESIGN: integrators name partners by their externalId or email "so integrators never need our ids".
  recordConversion: { roles: ["admin", ...integration("conversions:write")], target: "partner", keys: ["externalId", "email"] },
  recordConversions: { roles: ["admin", ...integration("conversions:write")], target: "partner", keys: ["externalId", "email"] },
  reverseConversion: { roles: ["admin", "finance", ...integration("conversions:write")], target: "conversion", keys: ["externalId"] },
  approveCommissions: { roles: REVIEWERS, target: "commission" },
  holdCommissions: { roles: REVIEWERS, target: "commission" },
  releaseCommissions: { roles: REVIEWERS, target: "commission" },
  cancelCommissions: { roles: REVIEWERS, target: "commission" },
  // "admin: … reinstating"
  reinstateCommissions: { roles: ["admin"], target: "commission" },
  adjustCommission: { roles: REVIEWERS, target: "commission" },
  creditPartner: { roles: REVIEWERS, target: "partner" },
  // "admin: … write-offs"
  writeOffBalance: { roles: ["admin"], target: "partner" },
  createPayout: { roles: PAYOUT_WRITERS, target: "partner" },
  runPayouts: { roles: PAYOUT_WRITERS },
  // "partner: … requests payouts"
  requestPayout: { roles: ["partner"] },
  approvePayouts: { roles: PAYOUT_WRITERS, target: "payout" },
  markPayoutsPaid: { roles: PAYOUT_WRITERS, target: "payout" },
  cancelPayouts: { roles: PAYOUT_WRITERS, target: "payout" },
  // Issue 15: sending moves money through a provider: admin or finance people (dual control compares persons), no integration token.
  sendPayouts: { roles: ["admin", "finance"], target: "payout" },
  removePayoutLines: { roles: PAYOUT_WRITERS, target: "payout" },
  // Issue 15: editing a draft both ways, by whoever may remove its lines.
  addPayoutLines: { roles: PAYOUT_WRITERS, target: "payout" },
  recordPayoutBounce: { roles: REVIEWERS, target: "payout" },
  addPayoutMethod: { roles: DETAIL_WRITERS, target: "partner" },
  removePayoutMethod: { roles: DETAIL_WRITERS, target: "payoutMethod" },
  setDefaultPayoutMethod: { roles: DETAIL_WRITERS, target: "payoutMethod" },
  setBillingProfile: { roles: DETAIL_WRITERS, target: "partner" },
  // "admin: … revealing full bank details (audited); finance: … reveals full bank details of a payout it is paying".
  revealPayoutMethod: { roles: ["admin", "finance"], target: "payoutMethod" },
  revealTaxId: { roles: ["admin"], target: "partner" },
  // Accounting sync (README "QuickBooks Online"): admins connect; admin and finance sync.
  connectQuickBooks: { roles: ["admin"] },
  disconnectQuickBooks: { roles: ["admin"] },
  mapPartnerToVendor: { roles: ["admin"], target: "partner" },
  syncPayoutsToAccounting: { roles: REVIEWERS, target: "payout" },
  retryAccountingSync: { roles: REVIEWERS, target: "payout" },
  // README "Payment rails": "An admin connects a program to a provider … `disconnectPaymentProvider` forgets them".
  connectPaymentProvider: { roles: ["admin"] },
  disconnectPaymentProvider: { roles: ["admin"] },
  // README "Payment rails": "partners edit them (`updatePayoutMethod`…)", and verifying one is managing it: as
  // addPayoutMethod, the partner itself, admin or finance ("partner: manages its own payout methods"). A suspended
  // or archived partner may do neither (README "Suspended and archived partners"; test/access/defects.test.ts).
  updatePayoutMethod: { roles: DETAIL_WRITERS, target: "payoutMethod" },
  verifyPayoutMethod: { roles: DETAIL_WRITERS, target: "payoutMethod" },
};

// ─── Subscriptions and exports ──────────────────────────────────────────────

export const SUBSCRIPTIONS: Record<string, { roles: readonly Role[]; target?: Kind }> = {
  // "A partner's socket carries that partner's events only; operators can watch the whole program"; events are commissions and balances.
  partnerEvents: { roles: [...IN_PROGRAM, ...integration("commissions:read")], target: "partner" },
  programEvents: { roles: OPERATORS },
};

export interface ExportRule {
  /** Who may download it. */
  roles: readonly Role[];
  /** The query parameter naming the target record, and its kind. */
  target?: { param: string; kind: Kind };
  /** The kind each row is (rows must all be readable by the viewer). */
  rows: Kind;
}

/** README "Exports". */
export const EXPORTS: Record<string, ExportRule> = {
  "/exports/payouts.csv": { roles: READ.payout.roles, target: { param: "partnerId", kind: "partner" }, rows: "payout" },
  "/exports/commissions.csv": { roles: READ.commission.roles, target: { param: "partnerId", kind: "partner" }, rows: "commission" },
  // "needs payouts:read and a partner-reading scope; payouts:write alone is refused" — no single scope has both.
  "/exports/paypal-payouts.csv": { roles: ["admin", "finance"], target: { param: "payoutIds", kind: "payout" }, rows: "payout" },
  // "Statements and the 1099 report are for operators (a partner may download its own statement), not for integrations."
  "/exports/statement.csv": { roles: IN_PROGRAM, target: { param: "partnerId", kind: "partner" }, rows: "commission" },
  "/exports/1099-nec.csv": { roles: OPERATORS, rows: "billingProfile" },
};

/** Sample values for every filter field, so each list runs once per filter field (a new field without one fails). */
export const FILTER_SAMPLES: Record<string, Record<string, (ids: { ownPartner: string; ownConversion: string }) => unknown>> = {
  PartnerFilter: { status: () => ["ACTIVE"], search: () => "Own" },
  CommissionFilter: {
    status: () => ["PAID", "APPROVED"],
    kind: () => ["CONVERSION", "CLAWBACK"],
    partnerId: (ids) => ids.ownPartner,
    conversionId: (ids) => ids.ownConversion,
    occurredAfter: () => "2025-01-01T00:00:00Z",
    occurredBefore: () => "2027-01-01T00:00:00Z",
    payableBefore: () => "2027-01-01T00:00:00Z",
    payable: () => true,
  },
  ConversionFilter: {
    partnerId: (ids) => ids.ownPartner,
    occurredAfter: () => "2025-01-01T00:00:00Z",
    occurredBefore: () => "2027-01-01T00:00:00Z",
    reversed: () => true,
  },
  PayoutFilter: { status: () => ["PAID"], partnerId: (ids) => ids.ownPartner, paidAfter: () => "2025-01-01T00:00:00Z", paidBefore: () => "2027-01-01T00:00:00Z" },
  BalanceFilter: { minimumPayable: () => "0.00", negativeOnly: () => false },
  AuditFilter: {
    recordId: (ids) => ids.ownPartner,
    entityType: () => "Commission",
    action: () => "commission.approve",
    actorId: () => "admin@own.test",
    after: () => "2025-01-01T00:00:00Z",
    before: () => "2030-01-01T00:00:00Z",
  },
};
