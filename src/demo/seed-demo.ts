import { signToken } from "../auth/sign-token.ts";
import type { App } from "../server.ts";
import { reviewCommissions } from "../services/commissions/review-commissions.ts";
import { recordConversions, type ConversionInput } from "../services/conversions/record-conversions.ts";
import { reverseConversion } from "../services/conversions/reverse-conversion.ts";
import { createPartner } from "../services/partners/create-partner.ts";
import { addPayoutMethod } from "../services/payment-details/payout-methods.ts";
import { setBillingProfile } from "../services/payment-details/set-billing-profile.ts";
import { createPayout } from "../services/payouts/create-payout.ts";
import { transitionPayouts } from "../services/payouts/transition-payouts.ts";
import { createProgram } from "../services/programs/create-program.ts";
import type { Actor } from "../services/deps.ts";

export const DEMO_PROGRAM_NAME = "Demo: Acme Outdoor";

const DEMO_PARTNERS = [
  { name: "Trail Tales (blog)", email: "hello@trailtales.example", externalId: "aff-1001", country: "US" },
  { name: "Summit Gear Reviews", email: "team@summitgear.example", externalId: "aff-1002", country: "US" },
  { name: "Alpenglow Creators GmbH", email: "partners@alpenglow.example", externalId: "aff-1003", country: "DE" },
  { name: "Paddle & Pine", email: "paddle@pine.example", externalId: "aff-1004", country: "CA" },
  { name: "Desert Miles Podcast", email: "ads@desertmiles.example", externalId: "aff-1005", country: "US" },
];

/** Sixty days of sales, some approved, one refunded, so every screen has something to show. */
async function seedSales(app: App, actor: Actor, partnerIds: string[]): Promise<void> {
  const now = app.clock.now().getTime();
  const items: ConversionInput[] = [];
  for (let i = 0; i < 60; i += 1) {
    const partner = partnerIds[i % partnerIds.length]!;
    const cents = 1999 + ((i * 7919) % 30000);
    items.push({
      externalId: `demo-order-${1000 + i}`,
      partners: [{ id: partner }],
      amount: (cents / 100).toFixed(2),
      currency: i % 9 === 4 ? "CAD" : "USD",
      exchangeRate: i % 9 === 4 ? "0.7312" : null,
      occurredAt: new Date(now - (60 - i) * 86_400_000),
      metadata: { channel: i % 2 ? "blog" : "video" },
    });
  }
  const recorded = await recordConversions(app.deps, { ...actor, role: "integration" }, items, (i) => ["items", String(i)]);
  if (!recorded.ok) throw new Error(`demo sales: ${JSON.stringify(recorded.errors)}`);
  const lines = await app.deps.tenant(actor.programId).commission.findMany({ where: { occurredAt: { lt: new Date(now - 25 * 86_400_000) } }, select: { id: true } });
  await reviewCommissions(
    app.deps,
    actor,
    "approve",
    lines.map((line) => line.id),
  );
  await reverseConversion(app.deps, actor, { conversionExternalId: "demo-order-1003", refundId: "demo-refund-1", amount: "10.00", reason: "damaged item" });

  // Payment details for three partners, one payout paid and one drafted.
  const methods = [
    { type: "PAYPAL" as const, email: "hello@trailtales.example" },
    { type: "ACH" as const, accountName: "Summit Gear LLC", routingNumber: "021000021", accountNumber: "000123456789", accountType: "CHECKING" as const },
    { type: "BANK_TRANSFER" as const, accountName: "Alpenglow Creators GmbH", iban: "DE89370400440532013000", bic: "DEUTDEFF" },
  ];
  const profiles = [
    {
      entityType: "INDIVIDUAL" as const,
      legalName: "Tess Tales",
      country: "US",
      taxForm: "W9" as const,
      taxId: "123-45-6789",
      addressLine1: "12 Pine Rd",
      city: "Boulder",
      region: "CO",
      postalCode: "80302",
    },
    {
      entityType: "COMPANY" as const,
      legalName: "Summit Gear LLC",
      country: "US",
      taxForm: "W9" as const,
      taxId: "12-3456789",
      addressLine1: "400 Summit Ave",
      city: "Denver",
      region: "CO",
      postalCode: "80202",
    },
    {
      entityType: "COMPANY" as const,
      legalName: "Alpenglow Creators GmbH",
      country: "DE",
      taxForm: "W8BEN_E" as const,
      vatId: "DE123456789",
      city: "München",
      postalCode: "80331",
    },
  ];
  for (const [i, method] of methods.entries()) {
    await addPayoutMethod(app.deps, actor, { partnerId: partnerIds[i]!, method });
    await setBillingProfile(app.deps, actor, { partnerId: partnerIds[i]!, profile: profiles[i]! });
  }
  const paid = await createPayout(app.deps, actor, { partnerId: partnerIds[0]! });
  if (paid.ok) {
    await transitionPayouts(app.deps, actor, "approve", { ids: [paid.value.id] });
    await transitionPayouts(app.deps, actor, "pay", { ids: [paid.value.id], payment: { method: "PAYPAL", reference: "PP-DEMO-0001" } });
  }
  await createPayout(app.deps, actor, { partnerId: partnerIds[1]! });
}

/**
 * Fills a demo program through the services of the running server (the
 * embedded database has one owner, so a seed cannot open it from outside).
 * Running it again changes nothing. Returns tokens to try it with.
 */
export async function seedDemo(app: App): Promise<{ programId: string; adminToken?: string; partnerToken?: string }> {
  const existing = await app.db.prisma.program.findFirst({ where: { name: DEMO_PROGRAM_NAME }, select: { id: true } });
  let programId = existing?.id;
  if (!programId) {
    const created = await createProgram(
      app.deps,
      { role: "platform", id: "demo-seed" },
      {
        name: DEMO_PROGRAM_NAME,
        currency: "USD",
        timeZone: "America/Denver",
        commissionRule: { type: "TIERED", tiers: [{ upTo: 100, percent: "10" }, { percent: "15" }] },
        holdPeriodDays: 30,
        minimumPayout: "50.00",
        payoutSchedule: { frequency: "MONTHLY", dayOfMonth: 1 },
        approvalMode: "MANUAL",
      },
    );
    if (!created.ok) throw new Error(`demo program: ${JSON.stringify(created.errors)}`);
    programId = created.value.id;
    const actor: Actor = { role: "admin", id: "demo-seed", programId };
    const partnerIds: string[] = [];
    for (const partner of DEMO_PARTNERS) {
      const result = await createPartner(app.deps, actor, partner);
      if (!result.ok) throw new Error(`demo partner: ${JSON.stringify(result.errors)}`);
      partnerIds.push(result.value.id);
    }
    await seedSales(app, actor, partnerIds);
  }
  const firstPartner = await app.db.prisma.partner.findFirst({ where: { programId }, orderBy: { id: "asc" }, select: { id: true } });
  if (!app.jwtSecret) return { programId };
  const sign = (claims: Parameters<typeof signToken>[0]) =>
    signToken(claims, {
      secret: app.jwtSecret!,
      issuer: app.config.auth.issuer,
      audience: app.config.auth.audience,
      expiresAt: new Date(Date.now() + 12 * 3_600_000),
    });
  return {
    programId,
    adminToken: await sign({ role: "admin", subject: "admin@demo", programId }),
    partnerToken: firstPartner ? await sign({ role: "partner", subject: "partner@demo", programId, partnerId: firstPartner.id }) : undefined,
  };
}
