import type { Result } from "../../domain/errors.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";

/**
 * Records that an admin exported the 1099-NEC report with full tax ids: who,
 * for which year, how many payees. Written before the file is sent, so a
 * download with TINs never goes unaudited.
 */
export function recordTinExport(deps: ServiceDeps, actor: Actor, report: { year: number; payees: number }): Promise<Result<void>> {
  return transact(deps, actor, (tx) =>
    audit(tx, { action: "tax_report.export_1099_nec", entityType: "Program", entityId: tx.programId, after: { year: report.year, payees: report.payees, revealedTins: true } }),
  );
}
