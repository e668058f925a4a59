import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPaymentRails } from "../../src/integrations/payments/payment-rails.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { AddMethodDoc, connectProvider, PartnerMethodsDoc, railsEnv, SetDefaultDoc, UpdateMethodDoc, VerifyMethodDoc, type RailStandIns } from "../helpers/payment-rails-docs.ts";
import { startPayPalStandIn } from "../helpers/paypal-stand-in.ts";
import { startStripeStandIn } from "../helpers/stripe-stand-in.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";
import { startWiseStandIn } from "../helpers/wise-stand-in.ts";

const DE_IBAN = "DE89370400440532013000";
const FR_IBAN = "FR1420041010050500013M02606";

describe.each(databaseTargets())("payout methods checked with the provider on %s", (target) => {
  let t: TestApp;
  let s: RailStandIns;
  let acme: ProgramFixture;

  const add = (token: string, partnerId: string, method: Record<string, unknown>, makeDefault?: boolean) =>
    t.gql(AddMethodDoc, { input: { partnerId, method: method as never, makeDefault } }, token).then((r) => dataOf(r).addPayoutMethod);
  const update = (token: string, id: string, method: Record<string, unknown>, makeDefault?: boolean) =>
    t.gql(UpdateMethodDoc, { input: { id, method: method as never, makeDefault } }, token).then((r) => dataOf(r).updatePayoutMethod);
  const methodsOf = async (partnerId: string, token = acme.adminToken) => {
    const node = dataOf(await t.gql(PartnerMethodsDoc, { id: partnerId }, token)).node;
    return node && "payoutMethods" in node ? node.payoutMethods : [];
  };

  beforeAll(async () => {
    s = { paypal: await startPayPalStandIn(), wise: await startWiseStandIn(), stripe: await startStripeStandIn() };
    t = await startTestApp(target, { env: railsEnv(s) });
    Object.assign(t.app.deps, { paymentRails: createPaymentRails(t.app.config.payments, t.app.deps.secrets, { attempts: 2, baseDelayMs: 5, maxDelayMs: 1500 }) });
    acme = await createProgramFixture(t, { name: "Acme" });
    for (const provider of ["PAYPAL", "WISE", "STRIPE"] as const) await connectProvider(t, acme, s, provider);
  });
  afterAll(async () => {
    await t?.stop();
    await Promise.all([s?.paypal.close(), s?.wise.close(), s?.stripe.close()]);
  });

  it("has Wise create the recipient for a Wise method, which is then verified", async () => {
    const ana = await createPartnerFixture(t, acme, { name: "Ana Lima" });
    const result = await add(ana.token, ana.id, { type: "WISE", currency: "EUR", accountName: "Ana Lima", iban: "DE89 3704 0044 0532 0130 00" });
    expect(result.userErrors).toEqual([]);
    expect(result.payoutMethod).toMatchObject({
      type: "WISE",
      isDefault: true,
      currency: "EUR",
      label: "Wise DE•••• 3000",
      verificationStatus: "VERIFIED",
      verifiedWith: "WISE",
      number: DE_IBAN,
    });
    const recipient = [...s.wise.recipients.values()].at(-1)!;
    expect(recipient).toMatchObject({ type: "iban", currency: "EUR", accountHolderName: "Ana Lima", details: { legalType: "PRIVATE", IBAN: DE_IBAN } });
    const stored = await t.app.db.prisma.payoutMethod.findFirstOrThrow({ where: { partnerId: ana.rawId } });
    expect(stored.providerRecipientId).toBe(String(recipient.id));

    const email = await add(ana.token, ana.id, { type: "WISE", currency: "GBP", email: "ana@example.com" });
    expect(email.payoutMethod).toMatchObject({ verificationStatus: "VERIFIED", isDefault: false });
    expect([...s.wise.recipients.values()].at(-1)).toMatchObject({ type: "email", currency: "GBP", accountHolderName: "Ana Lima" });
  });

  it("saves nothing when Wise refuses the account or cannot be reached", async () => {
    const cher = await createPartnerFixture(t, acme, { name: "Cher" });
    const recipients = s.wise.recipients.size;
    const refused = await add(cher.token, cher.id, { type: "WISE", currency: "EUR", accountName: "Cher", iban: FR_IBAN });
    expect(refused.payoutMethod).toBeNull();
    expect(refused.userErrors).toEqual([
      { code: "PROVIDER_REJECTED", message: "Wise: Please enter the recipient's first and last name.", field: ["input", "method", "accountName"] },
    ]);
    s.wise.failNext("down", 2, (r) => r.path === "/v1/accounts");
    const down = await add(cher.token, cher.id, { type: "WISE", currency: "EUR", accountName: "Cher Sarkisian", iban: FR_IBAN });
    expect(down.userErrors).toEqual([{ code: "PROVIDER_UNAVAILABLE", message: "Wise is not answering; nothing was changed, try again in a minute", field: ["input", "method"] }]);
    expect(await methodsOf(cher.id)).toEqual([]);
    expect(s.wise.recipients.size).toBe(recipients);
    const fine = await add(cher.token, cher.id, { type: "WISE", currency: "EUR", accountName: "Cher Sarkisian", iban: FR_IBAN });
    expect(fine.payoutMethod?.verificationStatus).toBe("VERIFIED");
  });

  it("checks PayPal and Stripe methods too, and leaves types no provider checks as they were", async () => {
    s.stripe.connectedAccounts.set("acct_1Ben", { transfers: "active" });
    s.stripe.connectedAccounts.set("acct_1Pending", { transfers: "pending" });
    const ben = await createPartnerFixture(t, acme, { name: "Ben Okafor" });
    expect((await add(ben.token, ben.id, { type: "PAYPAL", email: "ben@example.com" })).payoutMethod).toMatchObject({ verificationStatus: "VERIFIED", verifiedWith: "PAYPAL" });
    expect((await add(ben.token, ben.id, { type: "STRIPE", accountId: "acct_1Ben" })).payoutMethod).toMatchObject({
      verificationStatus: "VERIFIED",
      verifiedWith: "STRIPE",
      accountId: "acct_1Ben",
    });
    const pending = await add(ben.token, ben.id, { type: "STRIPE", accountId: "acct_1Pending" });
    expect(pending.userErrors).toEqual([
      { code: "PROVIDER_REJECTED", message: "Stripe: the account cannot receive transfers yet (transfers capability: pending)", field: ["input", "method", "accountId"] },
    ]);
    const check = await add(ben.token, ben.id, { type: "CHECK", payeeName: "Ben Okafor", addressLine1: "1 Main St", city: "Austin", postalCode: "78701", country: "US" }, true);
    expect(check.payoutMethod).toMatchObject({ verificationStatus: "UNVERIFIED", verifiedWith: null, isDefault: true });

    // PayPal does not pay in every currency: a program in Kuwaiti dinars cannot pay through it.
    const kuwait = await createProgramFixture(t, { name: "Kuwait", currency: "KWD" });
    await connectProvider(t, kuwait, s, "PAYPAL");
    const kp = await createPartnerFixture(t, kuwait);
    const kwd = await add(kp.token, kp.id, { type: "PAYPAL", email: "kp@example.com" });
    expect(kwd.userErrors).toEqual([{ code: "INVALID_CURRENCY", message: "PayPal: PayPal Payouts does not pay in KWD", field: ["input", "method", "currency"] }]);
  });

  it("lets a partner edit a method, keeping the number on file when it is left out, checked with Wise again", async () => {
    const dee = await createPartnerFixture(t, acme, { name: "Dee Park" });
    const method = (await add(dee.token, dee.id, { type: "WISE", currency: "EUR", accountName: "Dee Park", iban: DE_IBAN })).payoutMethod!;
    const recipients = s.wise.recipients.size;
    const renamed = await update(dee.token, method.id, { type: "WISE", currency: "EUR", accountName: "Dee J. Park" });
    expect(renamed.userErrors).toEqual([]);
    expect(renamed.payoutMethod).toMatchObject({ id: method.id, accountName: "Dee J. Park", number: DE_IBAN, verificationStatus: "VERIFIED", isDefault: true });
    expect(s.wise.recipients.size).toBe(recipients + 1);
    expect([...s.wise.recipients.values()].at(-1)).toMatchObject({ accountHolderName: "Dee J. Park", details: { IBAN: DE_IBAN } });

    const moved = await update(dee.token, method.id, { type: "WISE", currency: "GBP", accountName: "Dee Park", sortCode: "23-14-70", accountNumber: "28821822" });
    expect(moved.payoutMethod).toMatchObject({ sortCode: "231470", maskedNumber: "•••• 1822", currency: "GBP", label: "Wise •••• 1822" });
    // A mistyped IBAN is refused before Wise is asked.
    const missing = await update(dee.token, method.id, { type: "WISE", currency: "EUR", accountName: "Dee Park", iban: "DE89 3704 0044 0532 0130 01" });
    expect(missing.userErrors.map((e) => [e.code, e.field])).toEqual([["INVALID_IBAN", ["input", "method", "iban"]]]);
    expect((await update(dee.token, method.id, { type: "PAYPAL", email: "dee@example.com" })).userErrors.map((e) => e.field)).toEqual([["input", "method", "type"]]);
    // The account number on file goes with the same sort code form; Wise refuses the one-word name, and nothing changes.
    const refused = await update(dee.token, method.id, { type: "WISE", currency: "GBP", accountName: "Dee", sortCode: "231470" });
    expect(refused.userErrors.map((e) => e.code)).toEqual(["PROVIDER_REJECTED"]);
    expect((await methodsOf(dee.id))[0]).toMatchObject({ label: "Wise •••• 1822", verificationStatus: "VERIFIED" });

    const audit = await t.app.db.prisma.auditEntry.findMany({
      where: { programId: acme.rawId, entityId: (await t.app.db.prisma.payoutMethod.findFirstOrThrow({ where: { partnerId: dee.rawId } })).id, action: "payout_method.update" },
    });
    expect(audit).toHaveLength(2);
    expect(JSON.stringify(audit)).not.toContain(DE_IBAN);
    expect(JSON.stringify(audit)).not.toContain("28821822");
  });

  it("keeps a method a connected provider has not verified from being the default until it is verified", async () => {
    const late = await createProgramFixture(t, { name: "Late" });
    const eve = await createPartnerFixture(t, late, { name: "Eve Moreau" });
    const first = (await add(eve.token, eve.id, { type: "WISE", currency: "EUR", accountName: "Eve Moreau", iban: FR_IBAN })).payoutMethod!;
    const second = (await add(eve.token, eve.id, { type: "WISE", currency: "EUR", accountName: "Eve Moreau", iban: DE_IBAN })).payoutMethod!;
    expect([first.verificationStatus, first.isDefault, second.verificationStatus, second.isDefault]).toEqual(["UNVERIFIED", true, "UNVERIFIED", false]);
    await connectProvider(t, late, s, "WISE");
    const blocked = dataOf(await t.gql(SetDefaultDoc, { input: { id: second.id } }, eve.token)).setDefaultPayoutMethod;
    expect(blocked.userErrors.map((e) => e.code)).toEqual(["METHOD_NOT_VERIFIED"]);
    const verified = dataOf(await t.gql(VerifyMethodDoc, { input: { id: second.id } }, eve.token)).verifyPayoutMethod;
    expect(verified.payoutMethod).toMatchObject({ verificationStatus: "VERIFIED", verifiedWith: "WISE" });
    expect([...s.wise.recipients.values()].at(-1)).toMatchObject({ accountHolderName: "Eve Moreau", details: { IBAN: DE_IBAN } });
    expect(dataOf(await t.gql(SetDefaultDoc, { input: { id: second.id } }, eve.token)).setDefaultPayoutMethod.payoutMethod).toMatchObject({ isDefault: true });
    expect((await methodsOf(eve.id, late.adminToken)).map((m) => [m.id, m.isDefault])).toEqual([
      [second.id, true],
      [first.id, false],
    ]);
    // A method no provider checks has nothing to verify.
    const zelle = (await add(eve.token, eve.id, { type: "ZELLE", email: "eve@example.com" })).payoutMethod!;
    expect(dataOf(await t.gql(VerifyMethodDoc, { input: { id: zelle.id } }, eve.token)).verifyPayoutMethod.userErrors.map((e) => e.code)).toEqual(["NOT_CONNECTED"]);
  });

  it("lets no other partner, program, or read-only role edit or verify a method", async () => {
    const fay = await createPartnerFixture(t, acme, { name: "Fay Wu" });
    const gus = await createPartnerFixture(t, acme, { name: "Gus Hale" });
    const method = (await add(fay.token, fay.id, { type: "PAYPAL", email: "fay@example.com" })).payoutMethod!;
    const elsewhere = await createProgramFixture(t, { name: "Elsewhere" });
    const edit = { type: "PAYPAL", email: "mallory@example.com" };
    for (const token of [gus.token, elsewhere.adminToken]) {
      expect((await update(token, method.id, edit)).userErrors.map((e) => e.code)).toEqual(["NOT_FOUND"]);
      expect(dataOf(await t.gql(VerifyMethodDoc, { input: { id: method.id } }, token)).verifyPayoutMethod.userErrors.map((e) => e.code)).toEqual(["NOT_FOUND"]);
    }
    const integration = await acme.integrationToken(["PAYOUTS_READ", "PAYOUTS_WRITE", "PARTNERS_WRITE"]);
    for (const token of [acme.analystToken, integration]) {
      expect((await t.gql(UpdateMethodDoc, { input: { id: method.id, method: edit as never } }, token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      expect((await t.gql(VerifyMethodDoc, { input: { id: method.id } }, token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
    expect((await methodsOf(fay.id))[0]).toMatchObject({ label: "PayPal fay@example.com" });
    // Finance may fix a partner's details, as it may add them.
    expect((await update(acme.financeToken, method.id, { type: "PAYPAL", email: "fay.wu@example.com" })).payoutMethod).toMatchObject({
      email: "fay.wu@example.com",
      verificationStatus: "VERIFIED",
    });
  });
});
