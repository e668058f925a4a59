import { useEffect } from "react";
import { useQuery } from "urql";
import { errorMessage, formatMoney, humanize } from "../shared/format.ts";
import { PartnersDoc } from "./documents.ts";

/** Partners with their balances and what keeps each from being paid. */
export function Partners({ version }: { version: number }) {
  const [result, reload] = useQuery({ query: PartnersDoc });
  useEffect(() => {
    if (version > 0) reload({ requestPolicy: "network-only" });
  }, [version, reload]);
  return (
    <section aria-labelledby="partners-heading">
      <h2 id="partners-heading">Partners</h2>
      {result.error && <p className="error">{errorMessage(result.error)}</p>}
      <div className="table-scroll" tabIndex={0}>
        <table data-testid="partners">
          <thead>
            <tr>
              <th scope="col">Partner</th>
              <th scope="col" className="num">
                Pending
              </th>
              <th scope="col" className="num">
                Payable
              </th>
              <th scope="col" className="num">
                In payouts
              </th>
              <th scope="col" className="num">
                Paid
              </th>
              <th scope="col">Blockers</th>
            </tr>
          </thead>
          <tbody>
            {result.data?.partnerBalances.edges.map(({ node }) => (
              <tr key={node.partner.id}>
                <td>{node.partner.name}</td>
                <td className="num">{formatMoney(node.pending)}</td>
                <td className="num">{formatMoney(node.payable)}</td>
                <td className="num">{formatMoney(node.inPayouts)}</td>
                <td className="num">{formatMoney(node.paid)}</td>
                <td>{node.payoutBlockers.length ? node.payoutBlockers.map(humanize).join(", ") : "none"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
