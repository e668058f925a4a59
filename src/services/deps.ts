/**
 * What every service is given: who acts (Actor) and the dependencies it may
 * use (ServiceDeps). Types only; core.ts builds them.
 */
import type { Clock } from "../clock.ts";
import type { Database, PrismaClient } from "../db/database.ts";
import type { ScopedPrisma } from "../db/tenant-scope.ts";
import type { Logger } from "../logger.ts";
import type { TokenClaims } from "../auth/sign-token.ts";
import type { Role } from "../auth/viewer.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import type { QuickBooksClient } from "../integrations/quickbooks/client.ts";
import type { PaymentRails } from "../integrations/payments/payment-rails.ts";
import type { EventPublisher } from "./events.ts";

/** Who a service acts for: a token's role and subject, or the system (jobs). */
export interface Actor {
  role: Role | "system";
  id: string;
  programId: string;
  /** Set when a partner acts for itself. */
  partnerId?: string;
}

/** Signs our own HS256 tokens (integration tokens). */
export interface TokenSigner {
  sign(claims: TokenClaims, times: { issuedAt: Date; expiresAt: Date }): Promise<string>;
}

export interface ServiceDeps {
  prisma: PrismaClient;
  /** Locks the database frees with the holder's connection (a payout run's idempotency key). */
  locks: Pick<Database, "tryLock">;
  /** Transactions without Prisma, for services that send SQL alone (transact's `sqlOnly`); PostgreSQL only. */
  sqlTransactions?: Pick<Database, "sqlTransaction">;
  /** Hand-written reads without Prisma (Database.sqlRead); PostgreSQL only, `$queryRaw` elsewhere (db/sql-read.ts). */
  sqlReads?: Pick<Database, "sqlRead">;
  /** Seals bank and tax numbers at rest (ACCRUE_ENCRYPTION_KEY). */
  secrets: SecretBox;
  /** Absent when accrue has no HS256 secret. */
  tokens?: TokenSigner;
  clock: Clock;
  logger: Logger;
  events: EventPublisher;
  /** The accounting system's client (QuickBooks Online). */
  quickbooks?: QuickBooksClient;
  /** Connectors to the payment rails (PayPal Payouts, Wise, Stripe Connect). */
  paymentRails?: PaymentRails;
  /** 1099-NEC thresholds by tax year (USD), when configured; the defaults otherwise. */
  tax1099Thresholds?: Readonly<Record<number, string>>;
  /** A client scoped to one program, or one partner of it (cached). */
  tenant(programId: string, partnerId?: string): ScopedPrisma;
}
