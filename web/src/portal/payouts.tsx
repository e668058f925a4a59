import { useEffect, useState } from "react";
import { useQuery } from "urql";
import { errorMessage, formatDate, formatMoney, humanize } from "../shared/format.ts";
import { PortalPayoutLinesDoc, PortalPayoutsDoc } from "./documents.ts";

/** The partner's payouts; each one's lines are read when it is opened. */
export function Payouts({ version }: { version: number }) {
  const [result, reload] = useQuery({ query: PortalPayoutsDoc });
  useEffect(() => {
    if (version > 0) reload({ requestPolicy: "network-only" });
  }, [version, reload]);
  const payouts = result.data?.payouts.edges ?? [];
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  return (
    <section aria-labelledby="payouts-heading">
      <h2 id="payouts-heading">Payouts</h2>
      {result.error && <p className="error">{errorMessage(result.error)}</p>}
      {payouts.length === 0 && !result.fetching && <p className="muted">No payouts yet.</p>}
      <ul className="plain" data-testid="payouts">
        {payouts.map(({ node }) => (
          <li key={node.id}>
            <details
              onToggle={(event) => {
                // Read now: React clears currentTarget before a state updater runs.
                const isOpen = event.currentTarget.open;
                setOpen((ids) => toggled(ids, node.id, isOpen));
              }}
            >
              <summary>
                <span className={`badge status-${node.status}`}>{humanize(node.status)}</span> {formatMoney(node.amount)} · {node.lineCount} lines ·{" "}
                {node.paidAt
                  ? `paid ${formatDate(node.paidAt)}${node.method ? ` by ${humanize(node.method)}` : ""}${node.reference ? ` (${node.reference})` : ""}`
                  : `created ${formatDate(node.createdAt)}`}
              </summary>
              {node.cancelReason && <p className="muted">Cancelled: {node.cancelReason}</p>}
              {open.has(node.id) && <PayoutLines id={node.id} version={version} />}
            </details>
          </li>
        ))}
      </ul>
    </section>
  );
}

function toggled(ids: ReadonlySet<string>, id: string, isOpen: boolean): ReadonlySet<string> {
  const next = new Set(ids);
  if (isOpen) next.add(id);
  else next.delete(id);
  return next;
}

/** One payout's lines. */
function PayoutLines({ id, version }: { id: string; version: number }) {
  const [result, reload] = useQuery({ query: PortalPayoutLinesDoc, variables: { id } });
  useEffect(() => {
    if (version > 0) reload({ requestPolicy: "network-only" });
  }, [version, reload]);
  if (result.error) return <p className="error">{errorMessage(result.error)}</p>;
  const lines = result.data?.payout?.lines;
  if (!lines) return <p className="muted">Loading the lines…</p>;
  return (
    <div className="table-scroll" tabIndex={0}>
      <table>
        <thead>
          <tr>
            <th scope="col">Sale date</th>
            <th scope="col">Kind</th>
            <th scope="col" className="num">
              Amount
            </th>
          </tr>
        </thead>
        <tbody>
          {lines.map((line) => (
            <tr key={line.commission.id}>
              <td>{formatDate(line.commission.occurredAt)}</td>
              <td>{humanize(line.commission.kind)}</td>
              <td className="num">{formatMoney(line.amount)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
