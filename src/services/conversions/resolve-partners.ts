import { userError, type UserError } from "../../domain/errors.ts";
import type { Tx } from "../transact.ts";

/** How an integrator names a partner: our id, their externalId, or the email. Exactly one. */
export interface PartnerRefInput {
  id?: string | null;
  externalId?: string | null;
  email?: string | null;
}

export interface ResolvedPartner {
  id: string;
  status: string;
  commissionRuleOverride: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function keyOf(ref: PartnerRefInput): string | undefined {
  const given = [ref.id && `id:${ref.id.toLowerCase()}`, ref.externalId && `externalId:${ref.externalId}`, ref.email && `email:${ref.email.trim().toLowerCase()}`].filter(
    Boolean,
  ) as string[];
  return given.length === 1 ? given[0] : undefined;
}

/** The keys a batch names partners by, to look them up in one query, and the references that name none or several. */
export interface PartnerKeys {
  ids: string[];
  externalIds: string[];
  emails: string[];
  errors: UserError[];
}

export function partnerKeys(refs: { ref: PartnerRefInput; path: string[] }[]): PartnerKeys {
  const errors: UserError[] = [];
  const ids = new Set<string>();
  const externalIds = new Set<string>();
  const emails = new Set<string>();
  for (const { ref, path } of refs) {
    const key = keyOf(ref);
    if (!key) {
      errors.push(userError("INVALID_INPUT", "name a partner by exactly one of id, externalId or email", path));
      continue;
    }
    if (ref.id) {
      if (UUID.test(ref.id)) ids.add(ref.id.toLowerCase());
    } else if (ref.externalId) externalIds.add(ref.externalId);
    else if (ref.email) emails.add(ref.email.trim().toLowerCase());
  }
  return { ids: [...ids], externalIds: [...externalIds], emails: [...emails], errors };
}

/** The partners found for `keys`, indexed by every key they can be named by; NOT_FOUND for each reference that names none of them. */
export function matchPartners(
  refs: { ref: PartnerRefInput; path: string[] }[],
  keys: PartnerKeys,
  found: { id: string; externalId: string | null; email: string | null; status: string; commissionRuleOverride: unknown }[],
): { byRef: Map<string, ResolvedPartner>; errors: UserError[]; keyOf: (ref: PartnerRefInput) => string | undefined } {
  const errors = [...keys.errors];
  const byRef = new Map<string, ResolvedPartner>();
  for (const partner of found) {
    const resolved = { id: partner.id, status: partner.status, commissionRuleOverride: partner.commissionRuleOverride };
    byRef.set(`id:${partner.id}`, resolved);
    if (partner.externalId) byRef.set(`externalId:${partner.externalId}`, resolved);
    if (partner.email) byRef.set(`email:${partner.email}`, resolved);
  }
  for (const { ref, path } of refs) {
    const key = keyOf(ref);
    if (key && !byRef.has(key)) errors.push(userError("NOT_FOUND", `no partner with ${key.replace(":", " ")} in this program`, path));
  }
  return { byRef, errors, keyOf };
}

/**
 * Finds the partners a batch names, in one query. Returns, per reference,
 * the partner or a UserError at `path(ref)`: NOT_FOUND for a partner this
 * program does not have (another program's behaves the same), INVALID_INPUT
 * for a reference naming none or several keys.
 */
export async function resolvePartners(
  tx: Tx,
  refs: { ref: PartnerRefInput; path: string[] }[],
): Promise<{ byRef: Map<string, ResolvedPartner>; errors: UserError[]; keyOf: (ref: PartnerRefInput) => string | undefined }> {
  const keys = partnerKeys(refs);
  const or = [
    ...(keys.ids.length ? [{ id: { in: keys.ids } }] : []),
    ...(keys.externalIds.length ? [{ externalId: { in: keys.externalIds } }] : []),
    ...(keys.emails.length ? [{ email: { in: keys.emails } }] : []),
  ];
  const found = or.length
    ? await tx.db.partner.findMany({ where: { OR: or }, select: { id: true, externalId: true, email: true, status: true, commissionRuleOverride: true } })
    : [];
  return matchPartners(refs, keys, found);
}
