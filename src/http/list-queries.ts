import { DateTime } from "luxon";
import * as z from "zod";
import { COMMISSION_STATUSES } from "../domain/commission-status.ts";
import { MAX_YEAR, MIN_YEAR, parseInstant, parseLocalDate } from "../domain/iso-8601.ts";
import { PAYOUT_STATUSES } from "../domain/payout-status.ts";
import { CommissionKind } from "../generated/prisma/enums.ts";
import { decodeGlobalId } from "../graphql/global-ids.ts";
import type { CommissionListFilter } from "../services/commissions/commission-filter.ts";
import type { PayoutListFilter } from "../services/payouts/payout-filter.ts";

/**
 * The exports' query strings, parsed with zod into the filters the GraphQL
 * lists take (services/commissions/commission-filter.ts,
 * services/payouts/payout-filter.ts): the same keys as the lists' filter
 * inputs, lists of values comma-separated, ids the API's global ids, instants
 * ISO 8601 with an offset or a date (the start of that day in the program's
 * time zone). An unknown or repeated parameter is refused, not ignored, so a
 * typo never exports everything. Each refusal's message names the parameter.
 */

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A refusal of one query parameter; the export answers it with a 400. */
export class QueryParameterError extends Error {}

function globalIdOf(type: string, param: string) {
  return z.string().transform((value, ctx) => {
    let decoded: { typename: string; id: string } | undefined;
    try {
      decoded = decodeGlobalId(value);
    } catch {
      decoded = undefined;
    }
    if (decoded?.typename !== type) {
      ctx.addIssue({ code: "custom", message: `${param} is not a ${type} id` });
      return z.NEVER;
    }
    return decoded.id;
  });
}

function listOf<T extends string>(allowed: readonly T[], param: string) {
  return z.string().transform((value, ctx) => {
    const items = value.split(",").map((item) => item.trim());
    if (items.some((item) => !(allowed as readonly string[]).includes(item))) {
      ctx.addIssue({ code: "custom", message: `${param} takes ${allowed.join(", ")}` });
      return z.NEVER;
    }
    return items as T[];
  });
}

/**
 * An ISO 8601 date-time with offset (that instant), or a date: the start of
 * that day in the program's time zone (a `paidBefore=2026-03-01` in Los
 * Angeles ends at 2026-03-01T08:00:00Z). Nothing looser (see iso-8601.ts).
 */
function instantIn(timeZone: string, param: string) {
  return z.string().transform((value, ctx) => {
    const date = DATE_ONLY.test(value) ? (parseLocalDate(value) ? DateTime.fromISO(value, { zone: timeZone }).startOf("day").toJSDate() : undefined) : parseInstant(value);
    if (!date || Number.isNaN(date.getTime())) {
      ctx.addIssue({
        code: "custom",
        message: `${param} is an ISO 8601 date (a day in the program's time zone) or date-time, like 2026-03-01 or 2026-03-01T00:00:00Z, in the years ${MIN_YEAR} to ${MAX_YEAR}`,
      });
      return z.NEVER;
    }
    return date;
  });
}

function flag(param: string) {
  return z.enum(["true", "false"], { error: `${param} is true or false` }).transform((value) => value === "true");
}

function commissionQuery(timeZone: string) {
  return z.strictObject({
    status: listOf(COMMISSION_STATUSES, "status").optional(),
    kind: listOf(Object.values(CommissionKind), "kind").optional(),
    partnerId: globalIdOf("Partner", "partnerId").optional(),
    conversionId: globalIdOf("Conversion", "conversionId").optional(),
    occurredAfter: instantIn(timeZone, "occurredAfter").optional(),
    occurredBefore: instantIn(timeZone, "occurredBefore").optional(),
    payableBefore: instantIn(timeZone, "payableBefore").optional(),
    payable: flag("payable").optional(),
  }) satisfies z.ZodType<CommissionListFilter, unknown>;
}

function payoutQuery(timeZone: string) {
  return z.strictObject({
    status: listOf(PAYOUT_STATUSES, "status").optional(),
    partnerId: globalIdOf("Partner", "partnerId").optional(),
    paidAfter: instantIn(timeZone, "paidAfter").optional(),
    paidBefore: instantIn(timeZone, "paidBefore").optional(),
  }) satisfies z.ZodType<PayoutListFilter, unknown>;
}

/** Parses the query string with `schema`; an empty value is as if absent. Throws QueryParameterError. */
function parseWith<T>(schema: z.ZodType<T, unknown> & { keyof(): { options: readonly string[] } }, query: URLSearchParams): T {
  const raw: Record<string, string> = {};
  for (const [name, value] of query) {
    if (name in raw) throw new QueryParameterError(`${name} is given more than once; list several values in one, comma-separated`);
    raw[name] = value;
  }
  const given = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== ""));
  const parsed = schema.safeParse(given);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    throw new QueryParameterError(`unknown parameter ${issue.keys.join(", ")}; this export takes ${schema.keyof().options.join(", ")}`);
  }
  throw new QueryParameterError(issue.message);
}

/** commissions.csv's query as the commission lists' filter. */
export function parseCommissionQuery(query: URLSearchParams, timeZone: string): CommissionListFilter {
  return parseWith(commissionQuery(timeZone), query);
}

/** payouts.csv's query as the payout list's filter. */
export function parsePayoutQuery(query: URLSearchParams, timeZone: string): PayoutListFilter {
  return parseWith(payoutQuery(timeZone), query);
}
