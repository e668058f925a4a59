import type { CommissionRule } from "../../domain/commission-rule.ts";
import { createProgram } from "../../services/programs/create-program.ts";
import { updateProgramSettings } from "../../services/programs/update-program-settings.ts";
import { builder } from "../builder.ts";
import { actorOf, READERS } from "../guards.ts";
import { defineMutation } from "../mutation.ts";
import { Money, moneyOf, Weekday } from "./common.ts";

export const CommissionRuleType = builder.enumType("CommissionRuleType", {
  values: {
    FLAT: { description: "A fixed amount per conversion." },
    PERCENTAGE: { description: "A percentage of the sale." },
    TIERED: { description: "Marginal tiers by the partner's sale count in the calendar month (program time)." },
  } as const,
});

interface RuleShape {
  rule: CommissionRule;
  currency: string;
}
interface TierShape {
  tier: Extract<CommissionRule, { type: "TIERED" }>["tiers"][number];
  currency: string;
}

const CommissionTier = builder.objectRef<TierShape>("CommissionTier").implement({
  fields: (t) => ({
    upTo: t.int({ nullable: true, description: "Last sale number of the month in this tier; null for the last tier.", resolve: ({ tier }) => tier.upTo }),
    percent: t.field({ type: "Decimal", nullable: true, resolve: ({ tier }) => tier.percent ?? null }),
    amount: t.field({ type: Money, nullable: true, resolve: ({ tier, currency }) => (tier.amount ? moneyOf(tier.amount, currency) : null) }),
  }),
});

export const CommissionRuleRef = builder.objectRef<RuleShape>("CommissionRule").implement({
  description: "How a conversion's commission is computed.",
  fields: (t) => ({
    type: t.field({ type: CommissionRuleType, resolve: ({ rule }) => rule.type }),
    amount: t.field({
      type: Money,
      nullable: true,
      description: "FLAT: the amount per conversion.",
      resolve: ({ rule, currency }) => (rule.type === "FLAT" ? moneyOf(rule.amount, currency) : null),
    }),
    percent: t.field({
      type: "Decimal",
      nullable: true,
      description: 'PERCENTAGE: the percentage of the sale, like "12.5".',
      resolve: ({ rule }) => (rule.type === "PERCENTAGE" ? rule.percent : null),
    }),
    tiers: t.field({
      type: [CommissionTier],
      nullable: true,
      resolve: ({ rule, currency }) => (rule.type === "TIERED" ? rule.tiers.map((tier) => ({ tier, currency })) : null),
    }),
  }),
});

export const CommissionTierInput = builder.inputType("CommissionTierInput", {
  fields: (t) => ({
    upTo: t.int({ description: "Last sale number of the month in this tier; omit for the last tier." }),
    percent: t.field({ type: "Decimal" }),
    amount: t.field({ type: "Decimal" }),
  }),
});

export const CommissionRuleInput = builder.inputType("CommissionRuleInput", {
  description: "FLAT takes amount, PERCENTAGE takes percent, TIERED takes tiers (each a percent or an amount).",
  fields: (t) => ({
    type: t.field({ type: CommissionRuleType, required: true }),
    amount: t.field({ type: "Decimal" }),
    percent: t.field({ type: "Decimal" }),
    tiers: t.field({ type: [CommissionTierInput] }),
  }),
});

export const PayoutFrequency = builder.enumType("PayoutFrequency", {
  values: ["ON_DEMAND", "WEEKLY", "BIWEEKLY", "MONTHLY"] as const,
});
export const ApprovalMode = builder.enumType("ApprovalMode", {
  values: {
    MANUAL: { description: "New commissions wait in PENDING for an operator." },
    AUTOMATIC: { description: "New commissions are APPROVED at once (still held until payableAt)." },
  } as const,
});

interface ScheduleShape {
  frequency: "ON_DEMAND" | "WEEKLY" | "BIWEEKLY" | "MONTHLY";
  weekday: number | null;
  anchorDate: Date | null;
  dayOfMonth: number | null;
}

const PayoutSchedule = builder.objectRef<ScheduleShape>("PayoutSchedule").implement({
  description: "When scheduled payout runs draft payouts.",
  fields: (t) => ({
    frequency: t.field({ type: PayoutFrequency, resolve: (s) => s.frequency }),
    weekday: t.field({ type: Weekday, nullable: true, description: "WEEKLY: the day of the run.", resolve: (s) => s.weekday as never }),
    anchorDate: t.field({
      type: "Date",
      nullable: true,
      description: "BIWEEKLY: the first run; runs repeat every 14 days.",
      resolve: (s) => (s.anchorDate ? s.anchorDate.toISOString().slice(0, 10) : null),
    }),
    dayOfMonth: t.int({
      nullable: true,
      description: "MONTHLY: day of the run; 29–31 run on the last day of shorter months.",
      resolve: (s) => s.dayOfMonth,
    }),
  }),
});

export const PayoutScheduleInput = builder.inputType("PayoutScheduleInput", {
  fields: (t) => ({
    frequency: t.field({ type: PayoutFrequency, required: true }),
    weekday: t.field({ type: Weekday }),
    anchorDate: t.field({ type: "Date" }),
    dayOfMonth: t.int(),
  }),
});

export const ProgramRef = builder.prismaNode("Program", {
  id: { field: "id" },
  findUnique: (id) => ({ id }),
  nullable: true,
  authScopes: READERS.program,
  description: "One brand's partner program: the tenant every record belongs to.",
  fields: (t) => ({
    name: t.exposeString("name"),
    currency: t.expose("currency", { type: "CurrencyCode", description: "Fixed once money exists in the program." }),
    timeZone: t.exposeString("timeZone", { description: 'IANA zone; every "day", "month" and "tax year" is cut in it.' }),
    commissionRule: t.field({
      type: CommissionRuleRef,
      resolve: (program) => ({ rule: program.commissionRule as unknown as CommissionRule, currency: program.currency }),
    }),
    holdPeriodDays: t.exposeInt("holdPeriodDays", { description: "Days after a sale before its commission can be paid." }),
    minimumPayout: t.field({ type: Money, resolve: (p) => moneyOf(p.minimumPayout, p.currency) }),
    payoutSchedule: t.field({
      type: PayoutSchedule,
      resolve: (p) => ({
        frequency: p.payoutFrequency,
        weekday: p.payoutWeekday,
        anchorDate: p.payoutAnchorDate,
        dayOfMonth: p.payoutDayOfMonth,
      }),
    }),
    approvalMode: t.expose("approvalMode", { type: ApprovalMode }),
    allowPayoutRequests: t.exposeBoolean("allowPayoutRequests", { description: "Partners may request a payout of their payable balance." }),
    dualControlAbove: t.field({
      type: Money,
      nullable: true,
      description: "Dual control: a payout above this amount is sent (sendPayouts) by someone other than who approved it. Null: off.",
      resolve: (p) => (p.dualControlAbove === null ? null : moneyOf(p.dualControlAbove, p.currency)),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.queryFields((t) => ({
  program: t.prismaField({
    type: "Program",
    description: "The program of the token.",
    authScopes: { ...READERS.program, role: READERS.program.role.filter((role) => role !== "platform") },
    resolve: (query, _root, _args, ctx) => ctx.db.program.findUniqueOrThrow({ ...query, where: { id: actorOf(ctx).programId } }),
  }),
  programs: t.prismaConnection({
    type: "Program",
    cursor: "id",
    description: "Every program, newest first (platform role).",
    authScopes: { platform: true },
    totalCount: (_parent, _args, ctx) => ctx.deps.prisma.program.count(),
    resolve: (query, _root, _args, ctx) => ctx.deps.prisma.program.findMany({ ...query, orderBy: { id: "desc" } }),
  }),
}));

const DualControlInput = builder.inputType("DualControlInput", {
  description: "Dual control for sending payouts.",
  fields: (t) => ({
    above: t.field({ type: "Decimal", description: "Payouts above this amount (the program's currency) need a sender other than their approver; null turns dual control off." }),
  }),
});

const settingsFields = (t: PothosSchemaTypes.InputFieldBuilder<typeof builder.$inferSchemaTypes, "InputObject">) => ({
  timeZone: t.string({ description: "IANA time zone; default UTC." }),
  holdPeriodDays: t.int({ description: "0 to 365; default 30." }),
  minimumPayout: t.field({ type: "Decimal", description: "Default 0." }),
  payoutSchedule: t.field({ type: PayoutScheduleInput, description: "Default ON_DEMAND." }),
  approvalMode: t.field({ type: ApprovalMode, description: "Default MANUAL." }),
  allowPayoutRequests: t.boolean({ description: "Default true." }),
  dualControl: t.field({ type: DualControlInput, description: "Absent: unchanged. Default off." }),
});

defineMutation("createProgram", {
  description: "Creates a program (platform role).",
  authScopes: { platform: true },
  input: (t) => ({
    name: t.string({ required: true }),
    currency: t.field({ type: "CurrencyCode", required: true }),
    commissionRule: t.field({ type: CommissionRuleInput, required: true }),
    ...settingsFields(t),
  }),
  result: { field: "program", type: ProgramRef },
  resolve: (input, ctx) => createProgram(ctx.deps, { role: "platform", id: ctx.viewer!.subject }, input),
});

defineMutation("updateProgramSettings", {
  description: "Changes the program's settings (admin). Absent fields stay as they are.",
  authScopes: { role: ["admin"] },
  input: (t) => ({
    name: t.string(),
    currency: t.field({ type: "CurrencyCode", description: "Only while the program has no money in it." }),
    commissionRule: t.field({ type: CommissionRuleInput }),
    ...settingsFields(t),
  }),
  result: { field: "program", type: ProgramRef },
  resolve: (input, ctx) => updateProgramSettings(ctx.deps, actorOf(ctx), input),
});
