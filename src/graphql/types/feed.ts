import { encodeGlobalId } from "../global-ids.ts";
import { GraphQLError } from "graphql";
import type { Context } from "../../context.ts";
import { eventOf, type BalancePayload, type CommissionPayload, type CommittedEvent, type EventPayloads, type EventType, type PayoutPayload } from "../../services/events.ts";
import { decodePartnerCursor, decodeProgramCursor, partnerCursorProblem, programCursorProblem, type CursorProblem } from "../../realtime/cursors.ts";
import { startFeed, type FeedItem } from "../../realtime/feed-engine.ts";
import { partnerFeed } from "../../realtime/partner-feed.ts";
import { programFeed } from "../../realtime/program-feed.ts";
import { builder } from "../builder.ts";
import { actorOf, assertMayNamePartner, badInput, OPERATORS, READERS } from "../guards.ts";
import { CommissionKindEnum, CommissionStatusEnum } from "./commission.ts";
import { Money, moneyOf } from "./common.ts";
import { PartnerRef } from "./partner.ts";
import { PayoutMethodTypeEnum } from "./payment-details.ts";
import { PayoutStatusEnum } from "./payout.ts";

const FeedEventType = builder.enumType("FeedEventType", {
  values: {
    COMMISSION_ACCRUED: { description: "A new line: a sale's commission, a correction, a credit." },
    COMMISSION_CHANGED: { description: "A line moved: approved, held, cancelled, paid, reversed, became payable." },
    BALANCE_CHANGED: { description: "The partner's new balance." },
    PAYOUT_CHANGED: { description: "A payout was drafted, approved, paid, cancelled, changed or bounced." },
    FELL_BEHIND: { description: "Live events were lost to this subscription (it did not keep up, or fan-out was interrupted): subscribe again with `after: cursor`." },
    STARTED: {
      description:
        "The first event of every subscription: the feed is live. Everything committed after it arrives (replayed first when subscribing with `after`); `cursor` resumes from here.",
    },
    ENDED: { description: "The last event of a feed the server ended (see `ended.reason`); a feed the client closes, or that falls behind, has none." },
  } as const,
});

const FeedEndReasonEnum = builder.enumType("FeedEndReason", {
  values: {
    TOKEN_EXPIRED: { description: "The token expired: subscribe again with a fresh one and `after: cursor`." },
    TOKEN_REVOKED: { description: "The integration token was revoked." },
  } as const,
});

const typeNames: Record<EventType, "COMMISSION_ACCRUED" | "COMMISSION_CHANGED" | "BALANCE_CHANGED" | "PAYOUT_CHANGED"> = {
  "commission.accrued": "COMMISSION_ACCRUED",
  "commission.changed": "COMMISSION_CHANGED",
  "balance.changed": "BALANCE_CHANGED",
  "payout.changed": "PAYOUT_CHANGED",
};

const gid = (type: string, id: string | null | undefined) => (id ? encodeGlobalId(type, id) : null);

const CommissionChange = builder.objectRef<CommissionPayload>("CommissionChange").implement({
  description: "A commission line as it is after the change.",
  fields: (t) => ({
    id: t.id({ resolve: (p) => gid("Commission", p.id)! }),
    kind: t.field({ type: CommissionKindEnum, resolve: (p) => p.kind }),
    status: t.field({ type: CommissionStatusEnum, resolve: (p) => p.status }),
    amount: t.field({ type: Money, resolve: (p) => moneyOf(p.amount, p.currency) }),
    conversionId: t.id({ nullable: true, resolve: (p) => gid("Conversion", p.conversionId) }),
    relatedId: t.id({ nullable: true, resolve: (p) => gid("Commission", p.relatedId) }),
    payableAt: t.field({ type: "DateTime", resolve: (p) => new Date(p.payableAt) }),
    payable: t.boolean({ description: "Past its hold (a line is payable once also approved and in no payout).", resolve: (p) => p.matured === true }),
  }),
});

const BalanceChange = builder.objectRef<BalancePayload>("BalanceChange").implement({
  description: "The partner's balance after the change.",
  fields: (t) => {
    const money = (key: "pending" | "payable" | "inPayouts" | "paid" | "lifetimeEarned") => t.field({ type: Money, resolve: (p) => moneyOf(p[key], p.currency) });
    return { pending: money("pending"), payable: money("payable"), inPayouts: money("inPayouts"), paid: money("paid"), lifetimeEarned: money("lifetimeEarned") };
  },
});

const PayoutChange = builder.objectRef<PayoutPayload>("PayoutChange").implement({
  description: "A payout as it is after the change.",
  fields: (t) => ({
    id: t.id({ resolve: (p) => gid("Payout", p.id)! }),
    status: t.field({ type: PayoutStatusEnum, resolve: (p) => p.status }),
    amount: t.field({ type: Money, resolve: (p) => moneyOf(p.amount, p.currency) }),
    method: t.field({ type: PayoutMethodTypeEnum, nullable: true, resolve: (p) => p.method ?? null }),
    reference: t.string({ nullable: true, resolve: (p) => p.reference ?? null }),
    paidAt: t.field({ type: "DateTime", nullable: true, resolve: (p) => (p.paidAt ? new Date(p.paidAt) : null) }),
  }),
});

const FellBehind = builder.objectRef<Extract<FeedItem, { kind: "fell_behind" }>>("FellBehind").implement({
  fields: (t) => ({
    reason: t.string({ description: "QUEUE_FULL (the client did not keep up) or FAN_OUT_INTERRUPTED (Redis went away or came back).", resolve: (n) => n.reason }),
    dropped: t.int({ description: "Live events this subscription dropped.", resolve: (n) => n.dropped }),
  }),
});

const FeedEnded = builder.objectRef<Extract<FeedItem, { kind: "ended" }>>("FeedEnded").implement({
  fields: (t) => ({
    reason: t.field({ type: FeedEndReasonEnum, resolve: (n) => n.reason }),
  }),
});

const event = (item: FeedItem): CommittedEvent | null => (item.kind === "event" ? item.event : null);
const NOTICES = { started: "STARTED", fell_behind: "FELL_BEHIND", ended: "ENDED" } as const;
const payloadIf = <K extends EventType>(item: FeedItem, type: K): EventPayloads[K] | null => eventOf(event(item), type)?.payload ?? null;

const FeedEventRef = builder.objectRef<FeedItem>("FeedEvent").implement({
  description: "One event of a live feed. Keep `cursor`: subscribing again with `after: cursor` replays what was missed, once.",
  fields: (t) => ({
    type: t.field({ type: FeedEventType, resolve: (item) => (item.kind === "event" ? typeNames[item.event.type] : NOTICES[item.kind]) }),
    cursor: t.exposeString("cursor"),
    sequence: t.string({ nullable: true, description: "The partner's event number: 1, 2, 3, … without gaps.", resolve: (item) => event(item)?.partnerSequence ?? null }),
    partnerId: t.id({ nullable: true, resolve: (item) => gid("Partner", event(item)?.partnerId) }),
    occurredAt: t.field({ type: "DateTime", nullable: true, resolve: (item) => (event(item) ? new Date(event(item)!.createdAt) : null) }),
    committedAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When the change committed, for events delivered live (null when replayed).",
      resolve: (item) => (event(item)?.committedAt ? new Date(event(item)!.committedAt!) : null),
    }),
    commission: t.field({ type: CommissionChange, nullable: true, resolve: (item) => payloadIf(item, "commission.accrued") ?? payloadIf(item, "commission.changed") }),
    balance: t.field({ type: BalanceChange, nullable: true, resolve: (item) => payloadIf(item, "balance.changed") }),
    payout: t.field({
      type: PayoutChange,
      nullable: true,
      description: "Null for integrations without a payouts scope.",
      // Records reached any other way are guarded on their types; this one is a plain object, so the rule is stated here.
      authScopes: READERS.payout,
      unauthorizedResolver: () => null,
      resolve: (item) => payloadIf(item, "payout.changed"),
    }),
    fellBehind: t.field({ type: FellBehind, nullable: true, resolve: (item) => (item.kind === "fell_behind" ? item : null) }),
    ended: t.field({ type: FeedEnded, nullable: true, resolve: (item) => (item.kind === "ended" ? item : null) }),
  }),
});

/** A feed ends when its token expires (SSE has no socket to close). */
function remainingMs(ctx: { viewer: { expiresAt?: Date } | null; deps: { clock: { now(): Date } } }): number | undefined {
  const expiresAt = ctx.viewer?.expiresAt;
  return expiresAt ? expiresAt.getTime() - ctx.deps.clock.now().getTime() : undefined;
}

/**
 * The client a feed reads through: its program's, shared by every feed and
 * request of the program (the tenant cache's), not one scoped to the viewer's
 * partner, which each subscription would keep for as long as it is open. A
 * partner feed names its partner in every read itself (partner-feed.ts,
 * cursors.ts), and a partner viewer may name only itself (assertMayNamePartner).
 */
function programDb(ctx: Context) {
  return ctx.deps.tenant(actorOf(ctx).programId);
}

/** For integration tokens: whether the token is still unrevoked, asked while a feed runs. */
function revocationCheck(ctx: Context): (() => Promise<boolean>) | undefined {
  const viewer = ctx.viewer;
  if (viewer?.role !== "integration") return undefined;
  const db = programDb(ctx);
  return async () => (await db.integrationToken.count({ where: { id: viewer.tokenId, revokedAt: null } })) === 1;
}

/** What every feed of this viewer takes from the server: bus, scoped reads, bounds, expiry and revocation checks. */
function feedOptions(ctx: Context) {
  return {
    bus: ctx.realtime.bus,
    db: programDb(ctx),
    programId: actorOf(ctx).programId,
    queueSize: ctx.realtime.queueSize,
    waitWritable: ctx.waitWritable,
    endAfterMs: remainingMs(ctx),
    stillAllowed: revocationCheck(ctx),
    recheckMs: ctx.realtime.recheckMs,
    reconcileMs: ctx.realtime.reconcileMs,
    stats: ctx.realtime.feeds,
  };
}

function notFound(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "NOT_FOUND" } });
}

function refuse(problem: CursorProblem): void {
  if (problem) throw new GraphQLError(problem.message, { extensions: { code: problem.code } });
}

builder.subscriptionType({
  fields: (t) => ({
    partnerEvents: t.field({
      type: FeedEventRef,
      description: "One partner's events, live, in order. A partner token sees its own only (partnerId may be left out); operators name any partner.",
      authScopes: { role: [...OPERATORS, "partner"], integration: "commissions:read" },
      args: {
        partnerId: t.arg.globalID({ for: PartnerRef }),
        after: t.arg.string({ description: "A cursor from an earlier event: replay what came after it first." }),
      },
      subscribe: async (_root, args, ctx) => {
        const actor = actorOf(ctx);
        const partnerId = args.partnerId?.id ?? actor.partnerId;
        if (!partnerId) throw badInput("partnerId is required");
        assertMayNamePartner(ctx, partnerId);
        const after = args.after == null ? null : decodePartnerCursor(args.after);
        if (after === undefined) throw badInput("after is not a cursor of this feed");
        const db = programDb(ctx);
        // A partner token's own partner was found in its program when the token was checked (authenticate.ts).
        const ownPartner = ctx.viewer?.role === "partner" && ctx.viewer.partnerId === partnerId;
        if (!ownPartner && !(await db.partner.findUnique({ where: { id: partnerId }, select: { id: true } }))) throw notFound("no such partner");
        const programId = actorOf(ctx).programId;
        const sequences = ctx.realtime.partnerSequence;
        if (after) refuse(await partnerCursorProblem((id) => sequences({ programId, partnerId: id }), partnerId, after));
        return startFeed(partnerFeed({ ...feedOptions(ctx), partnerId, after: after?.sequence ?? null, watch: ctx.realtime.watch, sequences }));
      },
      resolve: (item: FeedItem) => item,
    }),
    programEvents: t.field({
      type: FeedEventRef,
      description: "Every event of the program, live (operators).",
      authScopes: { role: OPERATORS },
      args: { after: t.arg.string({ description: "A cursor from an earlier event: replay what came after it first." }) },
      subscribe: async (_root, args, ctx) => {
        const after = args.after == null ? null : decodeProgramCursor(args.after);
        if (after === undefined) throw badInput("after is not a cursor of this feed");
        const options = feedOptions(ctx);
        if (after) refuse(await programCursorProblem(options.db, options.programId, after));
        return startFeed(programFeed({ ...options, after }));
      },
      resolve: (item: FeedItem) => item,
    }),
  }),
});
