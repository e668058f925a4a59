import { signToken } from "../auth/sign-token.ts";
import type { App } from "../server.ts";
import { createPartner } from "../services/partners/create-partner.ts";
import { createProgram } from "../services/programs/create-program.ts";
import type { Actor } from "../services/runtime.ts";

export const DEMO_PROGRAM_NAME = "Demo: Acme Outdoor";

const DEMO_PARTNERS = [
  { name: "Trail Tales (blog)", email: "hello@trailtales.example", externalId: "aff-1001", country: "US" },
  { name: "Summit Gear Reviews", email: "team@summitgear.example", externalId: "aff-1002", country: "US" },
  { name: "Alpenglow Creators GmbH", email: "partners@alpenglow.example", externalId: "aff-1003", country: "DE" },
  { name: "Paddle & Pine", email: "paddle@pine.example", externalId: "aff-1004", country: "CA" },
  { name: "Desert Miles Podcast", email: "ads@desertmiles.example", externalId: "aff-1005", country: "US" },
];

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
    for (const partner of DEMO_PARTNERS) {
      const result = await createPartner(app.deps, actor, partner);
      if (!result.ok) throw new Error(`demo partner: ${JSON.stringify(result.errors)}`);
    }
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
