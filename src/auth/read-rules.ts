import { OPERATOR_ROLES, type IntegrationScope, type Role, type Viewer } from "./viewer.ts";

/**
 * Who may read what: the one statement of it, used by the GraphQL types and
 * fields (src/graphql/guards.ts turns it into scope-auth maps) and by the CSV
 * exports (src/http/exports.ts), so no path keeps a copy of its own.
 *
 * A rule names a kind of record, not a path: it holds wherever the record is
 * reached (a root field or list, a relation, `node`/`nodes`, a mutation's
 * payload, a live event, an export). Roles read their program's records, a
 * partner its own (tenancy narrows every read, see db/tenant-scope.ts); an
 * integration needs a scope that reads the kind. A scope that writes a kind
 * reads the records of that kind in the payload of its own mutation (what it
 * just wrote), and nowhere else: `conversions:write` sees the conversion it
 * posted and its lines, not other conversions through `node`.
 */
export type RecordKind =
  | "program"
  | "partner"
  | "conversion"
  | "commission"
  | "balance"
  | "payout"
  | "payoutRun"
  | "paymentDetails"
  | "auditEntry"
  | "integrationToken"
  | "accounting";

export interface ReadRule {
  /** Roles that read the kind. `integration` here means any integration token. */
  readonly roles: readonly Role[];
  /** Scopes that read the kind wherever it is reached. */
  readonly scopes: readonly IntegrationScope[];
  /** Scopes that read it only in the payload of a mutation they ran. */
  readonly payloadScopes: readonly IntegrationScope[];
}

const IN_PROGRAM = [...OPERATOR_ROLES, "partner"] as const satisfies readonly Role[];

export const READ_RULES: Readonly<Record<RecordKind, ReadRule>> = {
  /**
   * Its own program: every token of it (a partner's portal and an integration
   * show its name, currency, rules); platform operators list every program.
   */
  program: { roles: ["platform", ...IN_PROGRAM, "integration"], scopes: [], payloadScopes: [] },
  partner: { roles: IN_PROGRAM, scopes: ["partners:read"], payloadScopes: ["partners:write"] },
  /** Conversions and their reversals (refunds, chargebacks). */
  conversion: { roles: IN_PROGRAM, scopes: ["conversions:read"], payloadScopes: ["conversions:write"] },
  /**
   * Commission lines. A posted conversion's lines are part of what
   * `conversions:write` wrote; a payout's lines are part of the payout, so
   * whoever reads a payout reads the lines in it (Payout.lines), and only there.
   */
  commission: { roles: IN_PROGRAM, scopes: ["commissions:read"], payloadScopes: ["conversions:write", "payouts:write"] },
  balance: { roles: IN_PROGRAM, scopes: ["commissions:read", "payouts:read"], payloadScopes: [] },
  payout: { roles: IN_PROGRAM, scopes: ["payouts:read"], payloadScopes: ["payouts:write"] },
  /**
   * A payout run (who was drafted, who was skipped and why, what it sent and
   * paid): the payers' record, admin and finance (issue 15); a token that
   * runs payouts sees the run it made, in its payload.
   */
  payoutRun: { roles: ["admin", "finance"], scopes: [], payloadScopes: ["payouts:write"] },
  /** Payout methods and billing details: who gets paid, and where. */
  paymentDetails: { roles: IN_PROGRAM, scopes: ["payouts:read"], payloadScopes: [] },
  auditEntry: { roles: OPERATOR_ROLES, scopes: [], payloadScopes: [] },
  integrationToken: { roles: ["admin"], scopes: [], payloadScopes: [] },
  /** The accounting connection, and a payout's or partner's accounting ids and errors. */
  accounting: { roles: OPERATOR_ROLES, scopes: [], payloadScopes: [] },
};

/**
 * Whether the viewer may read records of this kind. `inPayload`: the read is
 * the payload of a mutation the viewer ran, where write scopes read too.
 */
export function mayRead(viewer: Viewer | null, kind: RecordKind, options: { inPayload?: boolean } = {}): boolean {
  if (!viewer) return false;
  const rule = READ_RULES[kind];
  if (rule.roles.includes(viewer.role)) return true;
  if (viewer.role !== "integration") return false;
  return rule.scopes.some((scope) => viewer.scopes.has(scope)) || (!!options.inPayload && rule.payloadScopes.some((scope) => viewer.scopes.has(scope)));
}

/** Why a filter naming another partner is refused (GraphQL's FORBIDDEN and the exports' 403 say the same). */
export const NAMES_OTHER_PARTNER = "Partners can only see their own records.";

/**
 * Whether the viewer may name this partner in a list's filter: a partner
 * only itself (whether the other exists or not, so ids cannot be probed);
 * every other reader any partner, tenancy keeping it to its program.
 */
export function mayNamePartner(viewer: Viewer | null, partnerId: string): boolean {
  return viewer?.role !== "partner" || viewer.partnerId === partnerId;
}

/**
 * What each CSV export is: the records it lists, and the other kinds its
 * columns hold (a withheld column stays in the header, empty, unless the
 * viewer may read that kind too).
 */
export const EXPORT_RULES = {
  /** As the `payouts` list. */
  payouts: { lists: ["payout"], columns: { partner: "partner" } },
  /** As the `commissions` list. */
  commissions: { lists: ["commission"], columns: { partner: "partner", conversion: "conversion" } },
  /**
   * PayPal's upload file pays partners: every row is a payout, the partner's
   * name and its PayPal address (payment details). Whoever downloads it reads
   * all three; among operators it is the payers' file (admin, finance).
   */
  paypalPayouts: { lists: ["payout", "paymentDetails", "partner"], roles: ["admin", "finance", "integration"] },
  /** A ledger of one partner's lines and payouts: for operators and the partner itself, not integrations. */
  statement: { lists: ["commission", "payout"], roles: IN_PROGRAM },
  /** Payees' legal names, addresses and tax ids: operators. */
  tax1099: { lists: ["paymentDetails", "payout"], roles: OPERATOR_ROLES },
} as const satisfies Record<string, { lists: readonly RecordKind[]; roles?: readonly Role[]; columns?: Record<string, RecordKind> }>;

export type ExportName = keyof typeof EXPORT_RULES;

/**
 * Whether the viewer may download an export: it must read every kind the
 * export lists, and be one of the export's roles when it names them.
 */
export function mayExport(viewer: Viewer | null, name: ExportName): boolean {
  if (!viewer) return false;
  const rule: { lists: readonly RecordKind[]; roles?: readonly Role[] } = EXPORT_RULES[name];
  if (rule.roles && !rule.roles.includes(viewer.role)) return false;
  return rule.lists.every((kind) => mayRead(viewer, kind));
}

/** The scopes an integration would need for an export, for its refusal message. */
export function scopesForExport(name: ExportName): IntegrationScope[][] {
  return EXPORT_RULES[name].lists.map((kind) => [...READ_RULES[kind].scopes]);
}
