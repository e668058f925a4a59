import { useState } from "react";
import { useMutation } from "urql";
import { formatLocalDate, formatMoney, type MoneyLike } from "../shared/format.ts";
import type { PayoutBlocker, PortalHomeQuery } from "../gql/graphql.ts";
import { RequestPayoutDoc } from "./documents.ts";
import type { LiveBalance } from "./portal.tsx";

type Balance = NonNullable<NonNullable<PortalHomeQuery["viewer"]["partner"]>["balance"]>;
type Program = NonNullable<PortalHomeQuery["viewer"]["program"]>;

/** Why the balance cannot be paid yet, in the partner's words. */
const BLOCKERS: Record<PayoutBlocker, (program: Program) => string> = {
  BELOW_MINIMUM: (program) => `Your payable balance is below the program's minimum payout of ${formatMoney(program.minimumPayout)}.`,
  NOT_POSITIVE: () => "Nothing is payable yet: commissions become payable once approved and past their hold period.",
  NO_BILLING_DETAILS: () => "Add your billing details below so we can pay you.",
  NO_PAYOUT_METHOD: () => "Add a payout method below so we can pay you.",
  OPEN_PAYOUT_EXISTS: () => "A payout to you is already on its way; the rest follows in the next one.",
};

export function Balances({
  balance,
  live,
  program,
  flash,
  onRequested,
}: {
  balance: Balance | null | undefined;
  live: LiveBalance | null;
  program: Program;
  flash: boolean;
  onRequested: () => void;
}) {
  const [request, requestPayout] = useMutation(RequestPayoutDoc);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  // The feed's figure is newer than the query's until the query is refreshed.
  const figures: Record<"pending" | "payable" | "inPayouts" | "paid", MoneyLike | undefined> = {
    pending: live?.pending ?? balance?.pending,
    payable: live?.payable ?? balance?.payable,
    inPayouts: live?.inPayouts ?? balance?.inPayouts,
    paid: live?.paid ?? balance?.paid,
  };
  const zero = { amount: "0", currency: program.currency };
  const blockers = balance?.payoutBlockers ?? ["NOT_POSITIVE"];
  const ask = async () => {
    const result = await requestPayout({ input: { idempotencyKey: crypto.randomUUID() } });
    const payload = result.data?.requestPayout;
    if (payload?.payout) setOutcome({ ok: true, text: `Requested: a payout of ${formatMoney(payload.payout.amount)} awaits approval.` });
    else setOutcome({ ok: false, text: payload?.userErrors[0]?.message ?? result.error?.message ?? "The request failed." });
    onRequested();
  };
  return (
    <section aria-labelledby="balance-heading">
      <h2 id="balance-heading">Your balance</h2>
      <dl className="kpis" data-testid="balances">
        <div className={flash ? "flash" : undefined}>
          <dt>Pending</dt>
          <dd data-testid="balance-pending">
            {formatMoney(figures.pending ?? zero)}
            <small>awaiting approval or the {program.holdPeriodDays}-day hold</small>
          </dd>
        </div>
        <div>
          <dt>Payable</dt>
          <dd data-testid="balance-payable">{formatMoney(figures.payable ?? zero)}</dd>
        </div>
        <div>
          <dt>In payouts</dt>
          <dd data-testid="balance-in-payouts">{formatMoney(figures.inPayouts ?? zero)}</dd>
        </div>
        <div>
          <dt>Paid</dt>
          <dd data-testid="balance-paid">{formatMoney(figures.paid ?? zero)}</dd>
        </div>
      </dl>
      {blockers.length > 0 ? (
        <div className="notice" data-testid="blockers">
          <p style={{ margin: 0 }}>Why your balance cannot be paid yet:</p>
          <ul>
            {blockers.map((code) => (
              <li key={code}>{BLOCKERS[code](program)}</li>
            ))}
          </ul>
        </div>
      ) : (
        <p className="ok">Your payable balance can be paid{program.nextPayoutRunOn ? ` in the run on ${formatLocalDate(program.nextPayoutRunOn)}` : ""}.</p>
      )}
      {program.allowPayoutRequests && (
        <p>
          <button type="button" onClick={ask} disabled={request.fetching || blockers.length > 0}>
            Request a payout
          </button>
        </p>
      )}
      {outcome && (
        <p className={outcome.ok ? "ok" : "error"} role="status">
          {outcome.text}
        </p>
      )}
    </section>
  );
}
