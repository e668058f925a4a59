import { fail, failed, userError, type Result } from "../../domain/errors.ts";
import { QuickBooksError } from "../../integrations/quickbooks/client.ts";
import { withCompany } from "../../integrations/quickbooks/connection.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";

const VENDOR_ID = /^\d{1,20}$/;

/**
 * Books a partner's payouts to a vendor that already exists in QuickBooks
 * (admin). When a company is connected the vendor must exist in it, or every
 * bill would fail; that is asked before the transaction, so no connection is
 * held while QuickBooks answers. Errors: INVALID_INPUT, NOT_FOUND,
 * ACCOUNTING_ERROR.
 */
export async function mapPartnerToVendor(deps: ServiceDeps, actor: Actor, input: { partnerId: string; vendorId: string }): Promise<Result<{ id: string }>> {
  const vendorId = input.vendorId.trim();
  if (!VENDOR_ID.test(vendorId)) return failed(userError("INVALID_INPUT", "vendorId is a QuickBooks vendor id (digits)", ["input", "vendorId"]));
  const connection = await deps.tenant(actor.programId).accountingConnection.findUnique({ where: { programId: actor.programId } });
  if (connection?.status === "CONNECTED") {
    // Configured whenever a company can be connected; its absence is a defect of the deployment.
    if (!deps.quickbooks) throw new Error("accounting is not available");
    const found = await withCompany(deps, deps.quickbooks, connection, (company) =>
      company.query<{ QueryResponse?: { Vendor?: unknown[] } }>(`select * from Vendor where Id = '${vendorId}'`),
    ).catch((error: unknown) => {
      if (error instanceof QuickBooksError) return { error };
      throw error;
    });
    if ("error" in found) return failed(userError("ACCOUNTING_ERROR", found.error.message, ["input", "vendorId"]));
    if (!found.QueryResponse?.Vendor?.length) return failed(userError("NOT_FOUND", `QuickBooks has no vendor ${vendorId}`, ["input", "vendorId"]));
  }
  return transact(deps, actor, async (tx) => {
    const before = await tx.db.partner.findUnique({ where: { id: input.partnerId }, select: { id: true, accountingVendorId: true } });
    if (!before) fail("NOT_FOUND", "no such partner", ["input", "partnerId"]);
    await tx.db.partner.update({ where: { id: input.partnerId }, data: { accountingVendorId: vendorId, accountingVendorName: null } });
    await audit(tx, { action: "accounting.vendor_map", entityType: "Partner", entityId: input.partnerId, before: { vendorId: before.accountingVendorId }, after: { vendorId } });
    return { id: input.partnerId };
  });
}
