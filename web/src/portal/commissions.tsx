import { useEffect, useState } from "react";
import { useQuery } from "urql";
import { errorMessage, formatDate, formatMoney, humanize } from "../shared/format.ts";
import type { CommissionFilter, CommissionKind, CommissionSortField, CommissionStatus, SortDirection } from "../gql/graphql.ts";
import { PortalCommissionsDoc } from "./documents.ts";

const STATUSES: CommissionStatus[] = ["PENDING", "APPROVED", "ON_HOLD", "PAID", "CANCELLED", "REVERSED"];
const KINDS: CommissionKind[] = ["CONVERSION", "ADJUSTMENT", "CREDIT", "REVERSAL", "CLAWBACK", "WRITE_OFF"];
const PAGE = 20;

/** The partner's lines: filters, sort, pages, each line's status, hold end and corrections. */
export function Commissions({ version, highlight }: { version: number; highlight: string | null }) {
  const [status, setStatus] = useState<CommissionStatus | "">("");
  const [kind, setKind] = useState<CommissionKind | "">("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [sortField, setSortField] = useState<CommissionSortField>("OCCURRED_AT");
  const [direction, setDirection] = useState<SortDirection>("DESC");
  // The cursors of the pages before this one: "previous" goes back one.
  const [cursors, setCursors] = useState<string[]>([]);
  const filter: CommissionFilter = {
    ...(status ? { status: [status] } : {}),
    ...(kind ? { kind: [kind] } : {}),
    ...(from ? { occurredAfter: `${from}T00:00:00Z` } : {}),
    ...(to ? { occurredBefore: `${to}T23:59:59.999Z` } : {}),
  };
  const [result, reload] = useQuery({ query: PortalCommissionsDoc, variables: { first: PAGE, after: cursors.at(-1), filter, sort: { field: sortField, direction } } });
  useEffect(() => {
    if (version > 0) reload({ requestPolicy: "network-only" });
  }, [version, reload]);
  const resetting =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setCursors([]);
    };
  const list = result.data?.commissions;
  return (
    <section aria-labelledby="commissions-heading">
      <h2 id="commissions-heading">Commissions</h2>
      <form className="inline" onSubmit={(event) => event.preventDefault()} aria-label="Filter and sort commissions">
        <label>
          Status
          <select value={status} onChange={(event) => resetting(setStatus)(event.target.value as CommissionStatus | "")}>
            <option value="">Any</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {humanize(value)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select value={kind} onChange={(event) => resetting(setKind)(event.target.value as CommissionKind | "")}>
            <option value="">Any</option>
            {KINDS.map((value) => (
              <option key={value} value={value}>
                {humanize(value)}
              </option>
            ))}
          </select>
        </label>
        <label>
          From (UTC)
          <input type="date" value={from} onChange={(event) => resetting(setFrom)(event.target.value)} />
        </label>
        <label>
          To (UTC)
          <input type="date" value={to} onChange={(event) => resetting(setTo)(event.target.value)} />
        </label>
        <label>
          Sort by
          <select value={sortField} onChange={(event) => resetting(setSortField)(event.target.value as CommissionSortField)}>
            <option value="OCCURRED_AT">Date of sale</option>
            <option value="AMOUNT">Amount</option>
            <option value="PAYABLE_AT">Hold ends</option>
            <option value="CREATED_AT">Recorded</option>
          </select>
        </label>
        <label>
          Order
          <select value={direction} onChange={(event) => resetting(setDirection)(event.target.value as SortDirection)}>
            <option value="DESC">Newest or largest first</option>
            <option value="ASC">Oldest or smallest first</option>
          </select>
        </label>
      </form>
      {result.error && <p className="error">{errorMessage(result.error)}</p>}
      {list && result.data && (
        <p className="muted" data-testid="commission-totals">
          {list.totalCount} lines, {formatMoney(result.data.commissionTotals.amount)} in all
        </p>
      )}
      <div className="table-scroll" tabIndex={0}>
        <table data-testid="commissions">
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Amount
              </th>
              <th scope="col">Hold ends</th>
              <th scope="col">Corrections</th>
            </tr>
          </thead>
          <tbody>
            {list?.edges.map(({ node }) => (
              <tr key={node.id} className={node.id === highlight ? "new" : undefined}>
                <td>{formatDate(node.occurredAt)}</td>
                <td>{humanize(node.kind)}</td>
                <td>
                  <span className={`badge status-${node.status}`}>{humanize(node.status)}</span>
                  {node.isPayable && <span className="muted"> · payable</span>}
                  {node.statusReason && <div className="muted">{node.statusReason}</div>}
                </td>
                <td className="num">{formatMoney(node.amount)}</td>
                <td>{formatDate(node.payableAt)}</td>
                <td>
                  {node.corrections.length === 0
                    ? "–"
                    : node.corrections.map((correction) => (
                        <div key={correction.id}>
                          {humanize(correction.kind)} {formatMoney(correction.amount)} ({humanize(correction.status)})
                        </div>
                      ))}
                </td>
              </tr>
            ))}
            {list?.edges.length === 0 && (
              <tr>
                <td colSpan={6} className="muted">
                  No commissions match.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <div className="toolbar">
        <button type="button" className="secondary" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!list?.pageInfo.hasNextPage}
          onClick={() => list?.pageInfo.endCursor && setCursors([...cursors, list.pageInfo.endCursor])}
        >
          Next page
        </button>
      </div>
    </section>
  );
}
