import { fail, type Result } from "../../domain/errors.ts";
import type { PaymentProviderConnection } from "../../generated/prisma/client.ts";
import type { PaymentProviderName } from "../../integrations/payments/payout-provider.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";
import { providerName } from "./provider-user-error.ts";

/**
 * Disconnects a payment provider (admin) and forgets its credentials. Its
 * webhooks are refused from then on; events already stored stay.
 * Errors: NOT_CONNECTED.
 */
export function disconnectPaymentProvider(deps: ServiceDeps, actor: Actor, input: { provider: PaymentProviderName }): Promise<Result<PaymentProviderConnection>> {
  return transact(deps, actor, async (tx) => {
    const connection = await tx.db.paymentProviderConnection.findUnique({ where: { programId_provider: { programId: tx.programId, provider: input.provider } } });
    if (!connection || connection.status !== "CONNECTED") fail("NOT_CONNECTED", `${providerName(input.provider)} is not connected`, ["input", "provider"]);
    const after = await tx.db.paymentProviderConnection.update({
      where: { id: connection.id },
      data: { status: "DISCONNECTED", disconnectedAt: tx.now, credentials: "" },
    });
    await audit(tx, {
      action: "payment_provider.disconnect",
      entityType: "PaymentProviderConnection",
      entityId: connection.id,
      before: { status: "CONNECTED", accountLabel: connection.accountLabel },
      after: { status: "DISCONNECTED" },
    });
    return after;
  });
}
