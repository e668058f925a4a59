import { useEffect } from "react";
import { useQuery } from "urql";
import { errorMessage, formatDate, formatMoney, humanize } from "../shared/format.ts";
import { PortalPayoutsDoc } from "./documents.ts";

/** The partner's payouts, each with its lines. */
export function Payouts({ version }: { version: number }) {
  const [result, reload] = useQuery({ query: PortalPayoutsDoc });
  useEffect(() => {
    if (version > 0) reload({ requestPolicy: "network-only" });
  }, [version, reload]);
  const payouts = result.data?.payouts.edges ?? [];
  return (
    <section aria-labelledby="payouts-heading">
      <h2 id="payouts-heading">Payouts</h2>
      {result.error && <p className="error">{errorMessage(result.error)}</p>}
      {payouts.length === 0 && !result.fetching && <p className="muted">No payouts yet.</p>}
      <ul className="plain" data-testid="payouts">
        {payouts.map(({ node }) => (
          <li key={node.id}>
            <details>
              <summary>
                <span className={`badge status-${node.status}`}>{humanize(node.status)}</span> {formatMoney(node.amount)} · {node.lineCount} lines ·{" "}
                {node.paidAt ? `paid ${formatDate(node.paidAt)}${node.method ? ` by ${humanize(node.method)}` : ""}${node.reference ? ` (${node.reference})` : ""}` : `created ${formatDate(node.createdAt)}`}
              </summary>
              {node.cancelReason && <p className="muted">Cancelled: {node.cancelReason}</p>}
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
                    {node.lines.map((line) => (
                      <tr key={line.commission.id}>
                        <td>{formatDate(line.commission.occurredAt)}</td>
                        <td>{humanize(line.commission.kind)}</td>
                        <td className="num">{formatMoney(line.amount)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </details>
          </li>
        ))}
      </ul>
    </section>
  );
}
