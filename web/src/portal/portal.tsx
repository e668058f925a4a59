import type { Client as FeedClient } from "graphql-ws";
import { useCallback, useEffect, useRef, useState } from "react";
import { stringifyDocument, useQuery } from "urql";
import { followFeed, type ConnectionState } from "../shared/client.ts";
import { EarningsChart } from "../shared/earnings-chart.tsx";
import { daysAgo, errorMessage, formatLocalDate, formatMoney, isoDate, type MoneyLike } from "../shared/format.ts";
import { LiveStatus } from "../shared/live-status.tsx";
import type { PortalFeedSubscription } from "../gql/graphql.ts";
import { Balances } from "./balances.tsx";
import { Commissions } from "./commissions.tsx";
import { PortalFeedDoc, PortalHomeDoc } from "./documents.ts";
import { PaymentDetails } from "./payment-details.tsx";
import { Payouts } from "./payouts.tsx";
import { Statement } from "./statement.tsx";

type FeedEvent = PortalFeedSubscription["partnerEvents"];
export type LiveBalance = NonNullable<FeedEvent["balance"]>;

function firstOfMonthMonthsAgo(months: number): string {
  const now = new Date();
  return isoDate(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 1)));
}

/**
 * Everything a partner sees: balances that follow the live feed, the
 * history of lines and payouts, statements, and its payment details.
 */
export function Portal({ feed, connection, token }: { feed: FeedClient; connection: ConnectionState; token: () => string }) {
  const [version, setVersion] = useState(0);
  const [liveBalance, setLiveBalance] = useState<LiveBalance | null>(null);
  const [arrival, setArrival] = useState<{ id: string; amount: MoneyLike } | null>(null);
  const [feedError, setFeedError] = useState<string | null>(null);
  const refreshTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const [home, reloadHome] = useQuery({ query: PortalHomeDoc, variables: { seriesFrom: firstOfMonthMonthsAgo(11), seriesTo: daysAgo(0) } });

  // A burst of events (a payout paying twenty lines) refreshes the lists once.
  const refreshSoon = useCallback(() => {
    clearTimeout(refreshTimer.current);
    refreshTimer.current = setTimeout(() => setVersion((v) => v + 1), 250);
  }, []);

  useEffect(
    () =>
      followFeed<FeedEvent>(
        feed,
        stringifyDocument(PortalFeedDoc),
        {},
        (event) => {
          setFeedError(null);
          if (event.balance) setLiveBalance(event.balance);
          if (event.type === "COMMISSION_ACCRUED" && event.commission) setArrival({ id: event.commission.id, amount: event.commission.amount });
          refreshSoon();
        },
        setFeedError,
        refreshSoon,
      ),
    [feed, refreshSoon],
  );
  useEffect(() => {
    if (version > 0) reloadHome({ requestPolicy: "network-only" });
  }, [version, reloadHome]);
  useEffect(() => {
    if (!arrival) return;
    const timer = setTimeout(() => setArrival(null), 8_000);
    return () => clearTimeout(timer);
  }, [arrival]);

  const viewer = home.data?.viewer;
  const failure = errorMessage(home.error);
  if (failure && !viewer) return <Problem message={failure} />;
  if (!viewer)
    return (
      <p className="muted" style={{ padding: "1rem" }}>
        Loading…
      </p>
    );
  if (viewer.role !== "PARTNER" || !viewer.partner) {
    return <Problem message="This is the partner portal: it needs a partner's token. Operators use the dashboard at /dashboard/." />;
  }
  const program = viewer.program!;
  const balance = viewer.partner.balance;
  return (
    <>
      <header className="top">
        <div>
          <h1>{viewer.partner.name}</h1>
          <p>{program.name} partner portal</p>
        </div>
        <LiveStatus state={connection} />
      </header>
      <main>
        {feedError && <p className="error">Live updates: {feedError}</p>}
        <Balances balance={balance} live={liveBalance} program={program} flash={arrival !== null} onRequested={refreshSoon} />
        <div className="grid-2">
          <section aria-labelledby="earnings-heading">
            <h2 id="earnings-heading">Earnings by month</h2>
            {home.data?.earningsSeries && <EarningsChart title="Accrued, reversed and paid out per month" points={home.data.earningsSeries.points} />}
          </section>
          <Statement token={token} />
        </div>
        <Commissions version={version} highlight={arrival?.id ?? null} />
        <Payouts version={version} />
        <PaymentDetails />
      </main>
      <div aria-live="polite" aria-atomic="true">
        {arrival && (
          <p className="toast" data-testid="new-commission">
            New commission: {formatMoney(arrival.amount)}
          </p>
        )}
      </div>
      <footer className="muted" style={{ textAlign: "center", padding: "1rem" }}>
        Times in {program.timeZone}. Next scheduled payout run: {program.nextPayoutRunOn ? formatLocalDate(program.nextPayoutRunOn) : "on request"}.
      </footer>
    </>
  );
}

function Problem({ message }: { message: string }) {
  return (
    <main>
      <p className="error" role="alert">
        {message}
      </p>
    </main>
  );
}
