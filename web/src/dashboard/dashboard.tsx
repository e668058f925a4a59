import type { Client as FeedClient } from "graphql-ws";
import { useCallback, useEffect, useRef, useState } from "react";
import { stringifyDocument, useQuery } from "urql";
import { followFeed, type ConnectionState } from "../shared/client.ts";
import { EarningsChart } from "../shared/earnings-chart.tsx";
import { daysAgo, errorMessage, formatDateTime, formatLocalDate, formatMoney, humanize, isoDate } from "../shared/format.ts";
import { LiveStatus } from "../shared/live-status.tsx";
import type { AnalyticsPeriod, DashboardFeedSubscription } from "../gql/graphql.ts";
import { DashboardHomeDoc, ProgramFeedDoc } from "./documents.ts";
import { Partners } from "./partners.tsx";
import { PayoutsPanel } from "./payouts-panel.tsx";
import { ReviewQueue } from "./review-queue.tsx";

type FeedEvent = DashboardFeedSubscription["programEvents"];

const RANGES: Record<AnalyticsPeriod, { days: number; label: string }> = {
  DAY: { days: 59, label: "the last 60 days" },
  WEEK: { days: 7 * 25, label: "the last 26 weeks" },
  MONTH: { days: 364, label: "the last 12 months" },
};

function firstOfThisMonth(): string {
  const now = new Date();
  return isoDate(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)));
}

/** The operator's view: KPIs, earnings over time, the review queue, payouts, partners, the program feed. */
export function Dashboard({ feed, connection, token }: { feed: FeedClient; connection: ConnectionState; token: () => string }) {
  const [period, setPeriod] = useState<AnalyticsPeriod>("DAY");
  const [version, setVersion] = useState(0);
  const [events, setEvents] = useState<FeedEvent[]>([]);
  const [feedError, setFeedError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const [home, reloadHome] = useQuery({
    query: DashboardHomeDoc,
    variables: { period, from: daysAgo(RANGES[period].days), to: daysAgo(0), monthFrom: firstOfThisMonth() },
  });
  const refreshSoon = useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setVersion((v) => v + 1), 300);
  }, []);
  const operator = home.data?.viewer && home.data.viewer.role !== "PARTNER" && home.data.viewer.role !== "INTEGRATION";

  useEffect(() => {
    if (!operator) return;
    return followFeed<FeedEvent>(
      feed,
      stringifyDocument(ProgramFeedDoc),
      {},
      (event) => {
        setFeedError(null);
        setEvents((seen) => [event, ...seen].slice(0, 30));
        refreshSoon();
      },
      setFeedError,
      refreshSoon,
    );
  }, [feed, operator, refreshSoon]);
  useEffect(() => {
    if (version > 0) reloadHome({ requestPolicy: "network-only" });
  }, [version, reloadHome]);

  const failure = errorMessage(home.error);
  if (failure && !home.data) {
    return (
      <main>
        <h1>Operator dashboard</h1>
        <p className="error" role="alert" data-testid="dashboard-error">
          {failure}
        </p>
      </main>
    );
  }
  if (!home.data)
    return (
      <p className="muted" style={{ padding: "1rem" }}>
        Loading…
      </p>
    );
  const { program, payoutsOverview: overview, pendingReview } = home.data;
  return (
    <>
      <header className="top">
        <div>
          <h1>{program.name}</h1>
          <p>
            Operator dashboard · {humanize(home.data.viewer.role)} · times in {program.timeZone}
          </p>
        </div>
        <LiveStatus state={connection} />
      </header>
      <main>
        {feedError && <p className="error">Live updates: {feedError}</p>}
        <section aria-labelledby="kpi-heading">
          <h2 id="kpi-heading">Today</h2>
          <dl className="kpis" data-testid="kpis">
            <div>
              <dt>Owed to partners</dt>
              <dd data-testid="kpi-owed">
                {formatMoney(overview.owedToPartners)}
                <small>{formatMoney(overview.recoverable)} to recover</small>
              </dd>
            </div>
            <div>
              <dt>Pending review</dt>
              <dd data-testid="kpi-pending">
                {formatMoney(pendingReview.amount)}
                <small>{pendingReview.count} lines</small>
              </dd>
            </div>
            <div>
              <dt>Payable now</dt>
              <dd data-testid="kpi-payable">
                {formatMoney(overview.payableNow)}
                <small>{overview.payableNowPartners} partners</small>
              </dd>
            </div>
            <div>
              <dt>Paid this month</dt>
              <dd data-testid="kpi-paid">
                {formatMoney(overview.paidThisMonth)}
                <small>{overview.paidThisMonthCount} payouts</small>
              </dd>
            </div>
            <div>
              <dt>Next payout run</dt>
              <dd>
                {program.nextPayoutRunOn ? formatLocalDate(program.nextPayoutRunOn) : "On demand"}
                <small>
                  {overview.draftsAwaitingApproval} drafts, {overview.approvedAwaitingPayment} approved
                </small>
              </dd>
            </div>
          </dl>
        </section>
        <div className="grid-2">
          <section aria-labelledby="chart-heading">
            <h2 id="chart-heading">Earnings and payouts</h2>
            <div className="toolbar">
              <label>
                Period
                <select value={period} onChange={(event) => setPeriod(event.target.value as AnalyticsPeriod)}>
                  <option value="DAY">Days</option>
                  <option value="WEEK">Weeks</option>
                  <option value="MONTH">Months</option>
                </select>
              </label>
            </div>
            <EarningsChart title={`Per ${period.toLowerCase()}, ${RANGES[period].label}`} points={home.data.earningsSeries.points} />
          </section>
          <section aria-labelledby="top-heading">
            <h2 id="top-heading">Top partners this month</h2>
            <div className="table-scroll" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Partner</th>
                    <th scope="col" className="num">
                      Earned
                    </th>
                    <th scope="col" className="num">
                      Sales
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {home.data.topPartners.map((row) => (
                    <tr key={row.partnerId}>
                      <td>{row.partner.name}</td>
                      <td className="num">{formatMoney(row.earned)}</td>
                      <td className="num">
                        {formatMoney(row.sales)} ({row.conversions})
                      </td>
                    </tr>
                  ))}
                  {home.data.topPartners.length === 0 && (
                    <tr>
                      <td colSpan={3} className="muted">
                        No earnings this month yet.
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
          </section>
        </div>
        <ReviewQueue version={version} onChanged={refreshSoon} />
        <PayoutsPanel version={version} onChanged={refreshSoon} token={token} />
        <div className="grid-2">
          <Partners version={version} />
          <section aria-labelledby="feed-heading">
            <h2 id="feed-heading">Live program feed</h2>
            <ul className="plain" data-testid="program-feed" aria-live="off">
              {events.map((event) => (
                <li key={event.cursor}>
                  <strong>{humanize(event.type)}</strong>{" "}
                  {event.commission && `${humanize(event.commission.kind)} ${formatMoney(event.commission.amount)} → ${humanize(event.commission.status)}`}
                  {event.payout && `payout ${formatMoney(event.payout.amount)} → ${humanize(event.payout.status)}`}
                  <div className="muted">{formatDateTime(event.occurredAt)}</div>
                </li>
              ))}
              {events.length === 0 && <li className="muted">Events appear here as they happen.</li>}
            </ul>
          </section>
        </div>
      </main>
    </>
  );
}
