import { Ledger } from "../services/ledger/ledger.ts";
import { matureDueLines } from "../services/payouts/payout-lines.ts";
import type { ServiceDeps } from "../services/deps.ts";
import { transact } from "../services/transact.ts";

/**
 * Brings the stored balances up to the clock. A line is payable from its
 * payableAt on whether this has run or not (domain/payable.ts; readers add
 * unmarked lines back); this marks them (matured) so the projection counts
 * them itself: for each partner with lines past their payableAt and not yet
 * marked, one transaction under the partner's balance lock marks them and
 * moves approved ones from pending to payable (balance, movements and events
 * updated). Returns the lines marked.
 */
export async function releaseHolds(deps: ServiceDeps, batch = 200): Promise<number> {
  const now = deps.clock.now();
  const due = await deps.prisma.$queryRaw<{ program_id: string; partner_id: string }[]>`
    SELECT DISTINCT program_id::text, partner_id::text FROM commissions
     WHERE matured = false AND status IN ('PENDING', 'APPROVED', 'ON_HOLD') AND payable_at <= ${now}
     LIMIT ${batch}`;
  let released = 0;
  for (const { program_id: programId, partner_id: partnerId } of due) {
    const result = await transact(deps, { role: "system", id: "hold-release", programId }, async (tx) => {
      const ledger = new Ledger(tx, "hold-release");
      await ledger.lockPartners([partnerId]);
      const lines = await matureDueLines(tx, ledger, [partnerId]);
      await ledger.flush();
      return lines.length;
    });
    if (result.ok) released += result.value;
  }
  return released;
}
