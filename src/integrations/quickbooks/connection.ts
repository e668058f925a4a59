import { randomBytes } from "node:crypto";
import { fail, failed, userError, type Result } from "../../domain/errors.ts";
import type { AccountingConnection } from "../../generated/prisma/client.ts";
import { audit } from "../../services/audit.ts";
import type { Actor, ServiceDeps } from "../../services/deps.ts";
import { transact } from "../../services/transact.ts";
import { QuickBooksError, type QuickBooksClient } from "./client.ts";

const STATE_TTL_MS = 15 * 60_000;
/** Refresh an access token this long before it expires. */
const REFRESH_MARGIN_MS = 5 * 60_000;

interface ConnectState {
  programId: string;
  actorId: string;
  expenseAccountId: string;
  bankAccountId: string | null;
  expiresAt: number;
  nonce: string;
}

/**
 * Starts the OAuth 2.0 authorization-code flow: the admin is sent to Intuit
 * with a state that only this server can open (sealed with the encryption
 * key), naming the program and the accounts to book to.
 * Errors: NOT_CONFIGURED, INVALID_INPUT.
 */
export function startQuickBooksConnect(
  deps: ServiceDeps,
  qbo: QuickBooksClient,
  actor: Actor,
  input: { expenseAccountId: string; bankAccountId?: string | null },
): Result<{ authorizeUrl: string }> {
  if (!qbo.configured) return failed(userError("NOT_CONFIGURED", "QuickBooks is not configured on this server (QBO_CLIENT_ID, QBO_CLIENT_SECRET)"));
  const expenseAccountId = input.expenseAccountId.trim();
  if (!/^\d{1,20}$/.test(expenseAccountId)) return failed(userError("INVALID_INPUT", "expenseAccountId is a QuickBooks account id (digits)", ["input", "expenseAccountId"]));
  const bankAccountId = input.bankAccountId?.trim() || null;
  if (bankAccountId && !/^\d{1,20}$/.test(bankAccountId))
    return failed(userError("INVALID_INPUT", "bankAccountId is a QuickBooks account id (digits)", ["input", "bankAccountId"]));
  const state: ConnectState = {
    programId: actor.programId,
    actorId: actor.id,
    expenseAccountId,
    bankAccountId,
    expiresAt: deps.clock.now().getTime() + STATE_TTL_MS,
    nonce: randomBytes(8).toString("hex"),
  };
  return { ok: true, value: { authorizeUrl: qbo.authorizeUrl(deps.secrets.seal(JSON.stringify(state))) } };
}

/**
 * Intuit's redirect back: checks the state, exchanges the code for tokens
 * and keeps them encrypted. Reconnecting replaces the old tokens.
 */
export async function completeQuickBooksConnect(
  deps: ServiceDeps,
  qbo: QuickBooksClient,
  input: { code: string; state: string; realmId: string },
): Promise<Result<{ programId: string }>> {
  let state: ConnectState;
  try {
    state = JSON.parse(deps.secrets.open(input.state)) as ConnectState;
  } catch {
    return failed(userError("INVALID_INPUT", "the connection request is not one of ours"));
  }
  if (state.expiresAt < deps.clock.now().getTime()) return failed(userError("INVALID_INPUT", "the connection request expired; start again"));
  if (!/^\d{1,30}$/.test(input.realmId)) return failed(userError("INVALID_INPUT", "realmId is not a QuickBooks company id"));
  let tokens;
  try {
    tokens = await qbo.exchangeCode(input.code);
  } catch (error) {
    if (error instanceof QuickBooksError) return failed(userError("ACCOUNTING_ERROR", error.message));
    throw error;
  }
  const actor: Actor = { role: "admin", id: state.actorId, programId: state.programId };
  return transact(deps, actor, async (tx) => {
    const data = {
      provider: "QUICKBOOKS",
      status: "CONNECTED" as const,
      realmId: input.realmId,
      accessToken: deps.secrets.seal(tokens.accessToken),
      refreshToken: deps.secrets.seal(tokens.refreshToken),
      accessTokenExpiresAt: new Date(tx.now.getTime() + tokens.expiresIn * 1000),
      refreshTokenExpiresAt: tokens.refreshTokenExpiresIn ? new Date(tx.now.getTime() + tokens.refreshTokenExpiresIn * 1000) : null,
      expenseAccountId: state.expenseAccountId,
      bankAccountId: state.bankAccountId,
      connectedBy: state.actorId,
      connectedAt: tx.now,
      disconnectedAt: null,
      changesCheckedAt: tx.now,
    };
    const connection = await tx.db.accountingConnection.upsert({
      where: { programId: tx.programId },
      create: { ...data, programId: tx.programId },
      update: data,
    });
    await audit(tx, {
      action: "accounting.connect",
      entityType: "AccountingConnection",
      entityId: connection.id,
      after: { provider: "QUICKBOOKS", realmId: input.realmId, expenseAccountId: state.expenseAccountId, bankAccountId: state.bankAccountId },
    });
    return { programId: tx.programId };
  });
}

/** Disconnects: revokes the refresh token at Intuit (best effort) and forgets the tokens. Errors: NOT_CONNECTED. */
export function disconnectQuickBooks(deps: ServiceDeps, qbo: QuickBooksClient, actor: Actor): Promise<Result<AccountingConnection>> {
  return transact(deps, actor, async (tx) => {
    const connection = await tx.db.accountingConnection.findUnique({ where: { programId: tx.programId } });
    if (!connection || connection.status !== "CONNECTED") fail("NOT_CONNECTED", "QuickBooks is not connected");
    try {
      await qbo.revoke(deps.secrets.open(connection.refreshToken));
    } catch (error) {
      deps.logger.warn({ err: error instanceof QuickBooksError ? error.message : String(error) }, "QuickBooks token revocation failed; forgetting the tokens anyway");
    }
    const after = await tx.db.accountingConnection.update({
      where: { id: connection.id },
      data: { status: "DISCONNECTED", disconnectedAt: tx.now, accessToken: "", refreshToken: "" },
    });
    await audit(tx, {
      action: "accounting.disconnect",
      entityType: "AccountingConnection",
      entityId: connection.id,
      before: { status: "CONNECTED" },
      after: { status: "DISCONNECTED" },
    });
    return after;
  });
}

/**
 * A usable access token for the connection: refreshed (and the new pair
 * stored) when it expires within five minutes, or when `force`d after a 401.
 */
export async function accessTokenFor(deps: ServiceDeps, qbo: QuickBooksClient, connection: AccountingConnection, force = false): Promise<string> {
  const now = deps.clock.now().getTime();
  if (!force && connection.accessTokenExpiresAt.getTime() - REFRESH_MARGIN_MS > now) return deps.secrets.open(connection.accessToken);
  const tokens = await qbo.refresh(deps.secrets.open(connection.refreshToken));
  const data = {
    accessToken: deps.secrets.seal(tokens.accessToken),
    refreshToken: deps.secrets.seal(tokens.refreshToken),
    accessTokenExpiresAt: new Date(now + tokens.expiresIn * 1000),
    refreshTokenExpiresAt: tokens.refreshTokenExpiresIn ? new Date(now + tokens.refreshTokenExpiresIn * 1000) : connection.refreshTokenExpiresAt,
  };
  await deps.prisma.accountingConnection.update({ where: { id: connection.id }, data });
  // Intuit rotates refresh tokens: later calls in this job must use the new pair.
  Object.assign(connection, data);
  return tokens.accessToken;
}

/** Calls QuickBooks with the connection's token, refreshing once on a 401. */
export async function withCompany<T>(
  deps: ServiceDeps,
  qbo: QuickBooksClient,
  connection: AccountingConnection,
  call: (company: ReturnType<QuickBooksClient["company"]>) => Promise<T>,
): Promise<T> {
  try {
    return await call(qbo.company(connection.realmId, await accessTokenFor(deps, qbo, connection)));
  } catch (error) {
    if (!(error instanceof QuickBooksError) || error.kind !== "unauthorized") throw error;
    return call(qbo.company(connection.realmId, await accessTokenFor(deps, qbo, connection, true)));
  }
}
