import { randomUUID } from "node:crypto";
import { globalId, rawId, type TestApp } from "../helpers/test-app.ts";
import type { Kind, Role, Target } from "./rules.ts";

/**
 * The records the access matrix reads and names: two programs, and in the
 * first two partners, each with every kind of record. The partner role is
 * P1 ("own"); P2 is another partner of its program ("other"); Q1 is a
 * partner of another program ("foreign"). Everything is made through the
 * API, as operators and integrators would.
 */
export interface AccessFixture {
  tokens: Record<Role, string | null>;
  /** Global ids by kind and target (node kinds), or the id of the record the matrix reaches it from. */
  ids: Record<Kind, Record<Target, string>>;
  /** A global id of each node type that names nothing: a new one each call. */
  phantom(typename: string): string;
  /** The same, one per type (so answers about it can be asked once). */
  phantomOf(typename: string): string;
  /** Global ids of every record of program A by kind, with the partner each belongs to (ground truth for lists). */
  programA: Record<string, { id: string; partnerId: string | null }[]>;
  /** Partner P1's external id and its conversion's, for look-ups by key. */
  keys: { ownPartnerExternalId: string; otherPartnerExternalId: string; foreignPartnerExternalId: string; conversionExternalId: Record<Target, string> };
  /** Spare records mutations may consume. */
  spare: { integrationToken: Record<Target, string>; payoutMethod: Record<Target, string> };
  programAId: string;
  programBId: string;
  ownPartnerRawId: string;
  /** Values only their owner may read (PayoutMethod.number, BillingProfile.taxId). */
  secrets: { iban: string; taxId: string; metadata: string };
  /** Program B's admin: figures it reads must be B's alone. */
  foreignAdmin: string;
  /** The Stripe credentials both programs are connected with (README "Payment rails"), when a stand-in runs. */
  stripe: { secretKey: string; webhookSecret: string } | null;
}

type Json = Record<string, any>;

async function must(t: TestApp, query: string, variables: Json, token: string): Promise<Json> {
  const response = await t.raw({ query, variables }, token);
  if (response.errors?.length || !response.data) throw new Error(`fixture: ${query.slice(0, 60)}… failed: ${JSON.stringify(response.errors)}`);
  const data = response.data as Json;
  const payload = Object.values(data)[0] as Json | null;
  if (payload && Array.isArray(payload.userErrors) && payload.userErrors.length > 0)
    throw new Error(`fixture: ${query.slice(0, 60)}… userErrors ${JSON.stringify(payload.userErrors)}`);
  return payload as Json;
}

const CREATE_PROGRAM = `mutation($input: CreateProgramInput!) { createProgram(input: $input) { program { id } userErrors { code message } } }`;
const CREATE_PARTNER = `mutation($input: CreatePartnerInput!) { createPartner(input: $input) { partner { id } userErrors { code message } } }`;
const ADD_METHOD = `mutation($input: AddPayoutMethodInput!) { addPayoutMethod(input: $input) { payoutMethod { id } userErrors { code message } } }`;
const SET_BILLING = `mutation($input: SetBillingProfileInput!) { setBillingProfile(input: $input) { billingProfile { legalName } userErrors { code message } } }`;
const RECORD = `mutation($input: RecordConversionInput!) { recordConversion(input: $input) { conversion { id commissions { id partnerId } } userErrors { code message } } }`;
const APPROVE = `mutation($input: ApproveCommissionsInput!) { approveCommissions(input: $input) { commissions { id } userErrors { code message } } }`;
const CREATE_PAYOUT = `mutation($input: CreatePayoutInput!) { createPayout(input: $input) { payout { id } userErrors { code message } } }`;
const APPROVE_PAYOUTS = `mutation($input: ApprovePayoutsInput!) { approvePayouts(input: $input) { payouts { id } userErrors { code message } } }`;
const PAY = `mutation($input: MarkPayoutsPaidInput!) { markPayoutsPaid(input: $input) { payouts { id } userErrors { code message } } }`;
const REVERSE = `mutation($input: ReverseConversionInput!) { reverseConversion(input: $input) { reversal { id } userErrors { code message } } }`;
const ADJUST = `mutation($input: AdjustCommissionInput!) { adjustCommission(input: $input) { commission { id } userErrors { code message } } }`;
const ISSUE = `mutation($input: IssueIntegrationTokenInput!) { issueIntegrationToken(input: $input) { issued { token integrationToken { id } } userErrors { code message } } }`;
const AUDIT = `query { auditEntries(first: 1) { edges { node { id } } } }`;
const RUN = `mutation($input: RunPayoutsInput!) { runPayouts(input: $input) { run { id } userErrors { code message } } }`;
const CONNECT = `mutation($input: ConnectPaymentProviderInput!) { connectPaymentProvider(input: $input) { connection { provider } userErrors { code message } } }`;

interface ProgramRecords {
  programId: string;
  admin: string;
  partners: string[];
  conversions: string[];
  commissionsOf: Record<string, string[]>;
  payouts: string[];
  run: string;
  reversals: string[];
  methods: string[];
  spareMethod: string;
  spareToken: string;
  audit: string;
}

export async function buildAccessFixture(t: TestApp, scopes: readonly string[], stripe: AccessFixture["stripe"] = null): Promise<AccessFixture> {
  const platform = await t.token({ role: "platform", subject: "platform@ops.test" });
  const occurredAt = "2025-12-01T10:00:00.000Z";
  const iban = "DE89370400440532013000";
  const taxId = "123-45-6789";
  const metadata = "customer-7f3a@shop.test";

  async function program(label: "own" | "foreign"): Promise<ProgramRecords & { partnerKeys: string[]; conversionKeys: string[] }> {
    const created = await must(
      t,
      CREATE_PROGRAM,
      { input: { name: `${label} program`, currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, holdPeriodDays: 0, minimumPayout: "1.00" } },
      platform,
    );
    const programId = rawId(created.program.id);
    const admin = await t.token({ role: "admin", programId, subject: `admin@${label}.test` });
    const finance = await t.token({ role: "finance", programId, subject: `finance@${label}.test` });
    const partnerKeys = label === "own" ? ["own-p1", "own-p2"] : ["foreign-q1"];
    const partners: string[] = [];
    for (const [i, key] of partnerKeys.entries()) {
      const name = label === "own" ? (i === 0 ? "Own Partner" : "Other Partner") : "Foreign Partner";
      const p = await must(t, CREATE_PARTNER, { input: { name, email: `${key}@partners.test`, externalId: key, country: "US" } }, admin);
      partners.push(p.partner.id);
    }
    const methods: string[] = [];
    for (const [i, partnerId] of partners.entries()) {
      methods.push((await must(t, ADD_METHOD, { input: { partnerId, method: { type: "BANK_TRANSFER", accountName: "Acct", iban } } }, admin)).payoutMethod.id);
      await must(t, ADD_METHOD, { input: { partnerId, method: { type: "PAYPAL", email: `pay-${partnerKeys[i]}@partners.test` }, makeDefault: true } }, admin);
      await must(t, SET_BILLING, { input: { partnerId, profile: { entityType: "INDIVIDUAL", legalName: "Legal Name", country: "US", taxForm: "W9", taxId } } }, admin);
    }
    const spareMethod = (
      await must(
        t,
        ADD_METHOD,
        { input: { partnerId: partners[0], method: { type: "CHECK", payeeName: "Spare", addressLine1: "1 Main St", city: "Denver", postalCode: "80202", country: "US" } } },
        admin,
      )
    ).payoutMethod.id;

    const commissionsOf: Record<string, string[]> = Object.fromEntries(partners.map((p) => [p, []]));
    const conversions: string[] = [];
    const conversionKeys: string[] = [];
    const sale = async (key: string, partnerIds: string[], amount: string) => {
      const recorded = await must(
        t,
        RECORD,
        { input: { externalId: key, partners: partnerIds.map((id) => ({ id })), amount, currency: "USD", occurredAt, metadata: { customer: metadata } } },
        admin,
      );
      conversions.push(recorded.conversion.id);
      conversionKeys.push(key);
      const lines = recorded.conversion.commissions as { id: string; partnerId: string }[];
      for (const line of lines) commissionsOf[line.partnerId]!.push(line.id);
      await must(t, APPROVE, { input: { ids: lines.map((l) => l.id) } }, admin);
      return { id: recorded.conversion.id as string, lines };
    };
    // One sale per partner (the first partner's is "own"), one shared by both partners of the program.
    for (const [i, partnerId] of partners.entries()) await sale(`${label}-sale-${i + 1}`, [partnerId], i === 0 ? "250.00" : "180.00");
    if (partners.length > 1) await sale(`${label}-sale-shared`, partners, "90.00");

    // The first partner: a paid payout (with lines), then an approved one (a payout being paid).
    const payouts: string[] = [];
    const pay = async (partnerId: string, state: "DRAFT" | "APPROVED" | "PAID") => {
      const draft = await must(t, CREATE_PAYOUT, { input: { partnerId } }, finance);
      const id = draft.payout.id as string;
      if (state !== "DRAFT") await must(t, APPROVE_PAYOUTS, { input: { ids: [id] } }, finance);
      if (state === "PAID") await must(t, PAY, { input: { ids: [id], method: "BANK_TRANSFER", reference: `REF-${label}-${payouts.length}` } }, finance);
      payouts.push(id);
    };
    await pay(partners[0]!, "PAID");
    const later = await sale(`${label}-sale-later`, [partners[0]!], "60.00");
    await must(t, ADJUST, { input: { id: later.lines[0]!.id, amount: "-1.00", reasonCode: "CORRECTION", note: "coupon" } }, admin);
    await pay(partners[0]!, "APPROVED");
    if (partners.length > 1) await pay(partners[1]!, "DRAFT");

    // Refunds: the own sale's line was paid (a clawback); the other's is in a draft.
    const reversals: string[] = [];
    for (const [i, conversionId] of conversions.slice(0, partners.length).entries()) {
      reversals.push((await must(t, REVERSE, { input: { conversionId, refundId: `${label}-refund-${i}`, amount: "10.00" } }, admin)).reversal.id);
    }
    // A stored payout run: every partner already has an open payout, so it drafts nothing and skips each.
    const run = (await must(t, RUN, { input: {} }, finance)).run.id as string;
    const spareToken = (await must(t, ISSUE, { input: { name: `${label} spare`, scopes: ["PARTNERS_READ"] } }, admin)).issued.integrationToken.id;
    // A payment provider connection each, so the connections list holds one of each program.
    if (stripe) await must(t, CONNECT, { input: { provider: "STRIPE", environment: "SANDBOX", stripe } }, admin);
    const auditPage = (await t.raw({ query: AUDIT }, admin)).data as Json;
    return {
      programId,
      admin,
      partners,
      conversions,
      commissionsOf,
      payouts,
      run,
      reversals,
      methods,
      spareMethod,
      spareToken,
      audit: auditPage.auditEntries.edges[0].node.id,
      partnerKeys,
      conversionKeys,
    };
  }

  const a = await program("own");
  const b = await program("foreign");
  const prisma = t.app.db.prisma;
  // An accounting connection each (disconnected: nothing syncs), so its fields can be read.
  for (const [programId, realm] of [
    [a.programId, "111"],
    [b.programId, "222"],
  ] as const) {
    await prisma.accountingConnection.create({
      data: {
        programId,
        provider: "quickbooks",
        status: "DISCONNECTED",
        realmId: realm,
        accessToken: "x",
        refreshToken: "x",
        accessTokenExpiresAt: new Date(),
        expenseAccountId: "7",
        connectedBy: "admin",
        connectedAt: new Date(),
        disconnectedAt: new Date(),
      },
    });
  }

  const tokens = {} as Record<Role, string | null>;
  tokens.anonymous = null;
  tokens.platform = platform;
  for (const role of ["admin", "finance", "analyst"] as const) tokens[role] = await t.token({ role, programId: a.programId, subject: `${role}@own.test` });
  tokens.partner = await t.token({ role: "partner", programId: a.programId, partnerId: rawId(a.partners[0]!), subject: "p1@partners.test" });
  for (const scope of scopes) {
    const issued = await must(t, ISSUE, { input: { name: scope, scopes: [scope.replace(":", "_").toUpperCase()] } }, a.admin);
    tokens[`integration:${scope}` as Role] = issued.issued.token;
  }

  const by = (own: string, other: string, foreign: string): Record<Target, string> => ({ own, other, foreign });
  const [p1, p2] = a.partners as [string, string];
  const q1 = b.partners[0]!;
  const ids: AccessFixture["ids"] = {
    program: by(globalId("Program", a.programId), globalId("Program", a.programId), globalId("Program", b.programId)),
    partner: by(p1, p2, q1),
    balance: by(p1, p2, q1),
    billingProfile: by(p1, p2, q1),
    // The partner's own conversion is the one it shares with P2: it sees the conversion, and its own line of it only.
    conversion: by(a.conversions[2]!, a.conversions[1]!, b.conversions[0]!),
    reversal: by(a.reversals[0]!, a.reversals[1]!, b.reversals[0]!),
    commission: by(a.commissionsOf[p1]![0]!, a.commissionsOf[p2]![0]!, b.commissionsOf[q1]![0]!),
    payout: by(a.payouts[0]!, a.payouts[2]!, b.payouts[0]!),
    payoutLine: by(a.payouts[0]!, a.payouts[2]!, b.payouts[0]!),
    payoutRun: by(a.run, a.run, b.run),
    payoutMethod: by(a.methods[0]!, a.methods[1]!, b.methods[0]!),
    auditEntry: by(a.audit, a.audit, b.audit),
    integrationToken: by(a.spareToken, a.spareToken, b.spareToken),
    accounting: by("", "", ""),
    paymentProvider: by("", "", ""),
  };

  // Ground truth for lists: every row of program A, read past the API.
  const A = a.programId;
  const rows = async <T extends { id: string; partnerId?: string | null }>(type: string, list: Promise<T[]>) =>
    (await list).map((row) => ({ id: globalId(type, row.id), partnerId: row.partnerId ? globalId("Partner", row.partnerId) : null }));
  const conversionRows = await prisma.conversion.findMany({ where: { programId: A }, select: { id: true, commissions: { select: { partnerId: true } } } });
  const programA: AccessFixture["programA"] = {
    partner: (await prisma.partner.findMany({ where: { programId: A }, select: { id: true } })).map((row) => ({
      id: globalId("Partner", row.id),
      partnerId: globalId("Partner", row.id),
    })),
    commission: await rows("Commission", prisma.commission.findMany({ where: { programId: A }, select: { id: true, partnerId: true } })),
    payout: await rows("Payout", prisma.payout.findMany({ where: { programId: A }, select: { id: true, partnerId: true } })),
    // A conversion is every attributed partner's: listed once per partner here.
    conversion: conversionRows.flatMap((row) =>
      [...new Set(row.commissions.map((c) => c.partnerId))].map((partnerId) => ({ id: globalId("Conversion", row.id), partnerId: globalId("Partner", partnerId) })),
    ),
    balance: (await prisma.balance.findMany({ where: { programId: A }, select: { partnerId: true } })).map((row) => ({
      id: globalId("Partner", row.partnerId),
      partnerId: globalId("Partner", row.partnerId),
    })),
    payoutRun: await rows("PayoutRun", prisma.payoutRun.findMany({ where: { programId: A }, select: { id: true } })),
    auditEntry: await rows("AuditEntry", prisma.auditEntry.findMany({ where: { programId: A }, select: { id: true } })),
    integrationToken: await rows("IntegrationToken", prisma.integrationToken.findMany({ where: { programId: A }, select: { id: true } })),
  };

  const phantoms: Record<string, string> = {};
  return {
    tokens,
    ids,
    phantom: (typename) => globalId(typename, randomUUID()),
    phantomOf: (typename) => (phantoms[typename] ??= globalId(typename, randomUUID())),
    programA,
    keys: {
      ownPartnerExternalId: a.partnerKeys[0]!,
      otherPartnerExternalId: a.partnerKeys[1]!,
      foreignPartnerExternalId: b.partnerKeys[0]!,
      conversionExternalId: by(a.conversionKeys[2]!, a.conversionKeys[1]!, b.conversionKeys[0]!),
    },
    spare: {
      integrationToken: by(a.spareToken, a.spareToken, b.spareToken),
      payoutMethod: by(a.spareMethod, a.methods[1]!, b.spareMethod),
    },
    programAId: a.programId,
    programBId: b.programId,
    ownPartnerRawId: rawId(p1),
    secrets: { iban, taxId, metadata },
    foreignAdmin: b.admin,
    stripe,
  };
}
