import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { CreateProgramDoc, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const ProgramDoc = graphql(`
  query ProgramSettings {
    program {
      id name currency timeZone holdPeriodDays approvalMode allowPayoutRequests
      minimumPayout { amount currency }
      commissionRule { type amount { amount currency } percent tiers { upTo percent amount { amount } } }
      payoutSchedule { frequency weekday anchorDate dayOfMonth }
    }
  }
`);

const UpdateSettingsDoc = graphql(`
  mutation UpdateProgramSettings($input: UpdateProgramSettingsInput!) {
    updateProgramSettings(input: $input) {
      program { id currency timeZone holdPeriodDays minimumPayout { amount currency } payoutSchedule { frequency weekday dayOfMonth anchorDate } commissionRule { type tiers { upTo percent } } }
      userErrors { code message field }
    }
  }
`);

describe.each(databaseTargets())("programs on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  beforeAll(async () => {
    t = await startTestApp(target);
    acme = await createProgramFixture(t, { name: "Acme", currency: "USD", timeZone: "America/New_York", minimumPayout: "50.00" });
  });
  afterAll(() => t?.stop());

  it("creates a program with defaults a newcomer expects", async () => {
    const program = dataOf(await t.gql(ProgramDoc, {}, acme.analystToken)).program;
    expect(program).toMatchObject({
      name: "Acme",
      currency: "USD",
      timeZone: "America/New_York",
      approvalMode: "MANUAL",
      allowPayoutRequests: true,
      minimumPayout: { amount: "50.00", currency: "USD" },
      commissionRule: { type: "PERCENTAGE", percent: "10" },
      payoutSchedule: { frequency: "ON_DEMAND", weekday: null, anchorDate: null, dayOfMonth: null },
    });
  });

  it("creates programs for the platform role only", async () => {
    const input = { name: "X", currency: "USD", commissionRule: { type: "FLAT" as const, amount: "5" } };
    const response = await t.gql(CreateProgramDoc, { input }, acme.adminToken);
    expect(response.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it.each([
    [{ currency: "ABC" }, "INVALID_CURRENCY", "input.currency"],
    [{ timeZone: "Mars/Olympus" }, "INVALID_TIME_ZONE", "input.timeZone"],
    [{ holdPeriodDays: 400 }, "INVALID_INPUT", "input.holdPeriodDays"],
    [{ minimumPayout: "10.001" }, "INVALID_AMOUNT", "input.minimumPayout"],
    [{ minimumPayout: "1e3" }, "INVALID_AMOUNT", "input.minimumPayout"],
    [{ minimumPayout: "-5" }, "INVALID_AMOUNT", "input.minimumPayout"],
    [{ commissionRule: { type: "FLAT" as const } }, "INVALID_COMMISSION_RULE", "input.commissionRule.amount"],
    [{ commissionRule: { type: "PERCENTAGE" as const, percent: "NaN" } }, "INVALID_COMMISSION_RULE", "input.commissionRule.percent"],
    [
      { commissionRule: { type: "TIERED" as const, tiers: [{ upTo: 100, percent: "10" }, { upTo: 50, percent: "15" }, { percent: "20" }] } },
      "INVALID_COMMISSION_RULE",
      "input.commissionRule.tiers.1.upTo",
    ],
    [{ payoutSchedule: { frequency: "WEEKLY" as const } }, "INVALID_SCHEDULE", "input.payoutSchedule.weekday"],
    [{ payoutSchedule: { frequency: "MONTHLY" as const, dayOfMonth: 32 } }, "INVALID_SCHEDULE", "input.payoutSchedule.dayOfMonth"],
  ])("refuses bad settings %j with %s", async (override, code, field) => {
    const platform = await t.token({ role: "platform" });
    const before = dataOf(await t.gql(graphql(`query ProgramCount { programs { totalCount } }`), {}, platform)).programs.totalCount;
    const input = { name: "Bad", currency: "USD", commissionRule: { type: "PERCENTAGE" as const, percent: "10" }, ...override };
    const result = dataOf(await t.gql(CreateProgramDoc, { input }, platform)).createProgram;
    expect(result.program).toBeNull();
    expect(result.userErrors.map((e) => [e.code, e.field?.join(".")])).toContainEqual([code, field]);
    const after = dataOf(await t.gql(graphql(`query ProgramCount2 { programs { totalCount } }`), {}, platform)).programs.totalCount;
    expect(after).toBe(before);
  });

  it("lets the admin change settings, keeping what is not given", async () => {
    const result = dataOf(
      await t.gql(
        UpdateSettingsDoc,
        {
          input: {
            holdPeriodDays: 14,
            payoutSchedule: { frequency: "MONTHLY", dayOfMonth: 31 },
            commissionRule: { type: "TIERED", tiers: [{ upTo: 100, percent: "10" }, { percent: "15" }] },
          },
        },
        acme.adminToken,
      ),
    ).updateProgramSettings;
    expect(result.userErrors).toEqual([]);
    expect(result.program).toMatchObject({
      timeZone: "America/New_York",
      holdPeriodDays: 14,
      minimumPayout: { amount: "50.00" },
      payoutSchedule: { frequency: "MONTHLY", dayOfMonth: 31, weekday: null },
      commissionRule: {
        type: "TIERED",
        tiers: [
          { upTo: 100, percent: "10" },
          { upTo: null, percent: "15" },
        ],
      },
    });
  });

  it("checks stored amounts against a new currency's minor unit", async () => {
    const fresh = await createProgramFixture(t, { currency: "USD", minimumPayout: "12.50" });
    const toYen = dataOf(await t.gql(UpdateSettingsDoc, { input: { currency: "JPY" } }, fresh.adminToken)).updateProgramSettings;
    expect(toYen.userErrors).toEqual([expect.objectContaining({ code: "INVALID_AMOUNT", field: ["input", "minimumPayout"] })]);
    const ok = dataOf(await t.gql(UpdateSettingsDoc, { input: { currency: "JPY", minimumPayout: "1300" } }, fresh.adminToken)).updateProgramSettings;
    expect(ok.program?.currency).toBe("JPY");
    expect(ok.program?.minimumPayout).toEqual({ amount: "1300", currency: "JPY" });
  });

  it("keeps settings for the admin: finance, analysts, partners and integrations are refused", async () => {
    const integration = await acme.integrationToken(["PARTNERS_WRITE"]);
    for (const token of [acme.financeToken, acme.analystToken, integration]) {
      const response = await t.gql(UpdateSettingsDoc, { input: { holdPeriodDays: 1 } }, token);
      expect(response.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
    const program = dataOf(await t.gql(ProgramDoc, {}, acme.adminToken)).program;
    expect(program.holdPeriodDays).toBe(14);
  });

  it("shows each program its own settings only", async () => {
    const other = await createProgramFixture(t, { name: "Other", currency: "KWD" });
    expect(dataOf(await t.gql(ProgramDoc, {}, other.adminToken)).program).toMatchObject({ id: other.id, currency: "KWD" });
    expect(dataOf(await t.gql(ProgramDoc, {}, acme.adminToken)).program.id).toBe(acme.id);
  });
});
