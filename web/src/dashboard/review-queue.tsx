import { useEffect, useState } from "react";
import { useMutation, useQuery } from "urql";
import { errorMessage, formatDate, formatMoney, humanize } from "../shared/format.ts";
import type { CommissionFilter, CommissionKind } from "../gql/graphql.ts";
import { BulkReport, type BulkOutcome } from "./bulk-report.tsx";
import { ReviewDocs, ReviewQueueDoc } from "./documents.ts";

/** Pending commissions, oldest first: select some, approve, hold or cancel them. */
export function ReviewQueue({ version, onChanged }: { version: number; onChanged: () => void }) {
  const [kind, setKind] = useState<CommissionKind | "">("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [reason, setReason] = useState("");
  const [outcome, setOutcome] = useState<BulkOutcome | null>(null);
  const filter: CommissionFilter = {
    status: ["PENDING"],
    ...(kind ? { kind: [kind] } : {}),
    ...(from ? { occurredAfter: `${from}T00:00:00Z` } : {}),
    ...(to ? { occurredBefore: `${to}T23:59:59.999Z` } : {}),
  };
  const [result, reload] = useQuery({ query: ReviewQueueDoc, variables: { filter } });
  const [approving, approve] = useMutation(ReviewDocs.approve);
  const [holding, hold] = useMutation(ReviewDocs.hold);
  const [cancelling, cancel] = useMutation(ReviewDocs.cancel);
  useEffect(() => {
    if (version > 0) reload({ requestPolicy: "network-only" });
  }, [version, reload]);
  const rows = result.data?.commissions.edges ?? [];
  const busy = approving.fetching || holding.fetching || cancelling.fetching;
  const ids = [...selected];
  const finish = (
    verb: string,
    payload: { commissions: readonly unknown[]; skipped: BulkOutcome["skipped"]; userErrors: readonly { message: string }[] } | undefined,
    error: { message: string } | undefined,
  ) => {
    setOutcome({
      done: `${verb} ${payload?.commissions.length ?? 0} commissions.`,
      skipped: payload?.skipped ?? [],
      error: payload?.userErrors[0]?.message ?? error?.message,
    });
    setSelected(new Set());
    onChanged();
  };
  const needsReason = (verb: string) => {
    if (reason.trim()) return false;
    setOutcome({ done: "", skipped: [], error: `Give a reason to ${verb}.` });
    return true;
  };
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  return (
    <section aria-labelledby="review-heading">
      <h2 id="review-heading">Review queue</h2>
      <form className="inline" onSubmit={(event) => event.preventDefault()} aria-label="Filter the review queue">
        <label>
          Kind
          <select value={kind} onChange={(event) => setKind(event.target.value as CommissionKind | "")}>
            <option value="">Any</option>
            <option value="CONVERSION">Conversion</option>
            <option value="ADJUSTMENT">Adjustment</option>
            <option value="REVERSAL">Reversal</option>
          </select>
        </label>
        <label>
          Sales from (UTC)
          <input type="date" value={from} onChange={(event) => setFrom(event.target.value)} />
        </label>
        <label>
          to (UTC)
          <input type="date" value={to} onChange={(event) => setTo(event.target.value)} />
        </label>
      </form>
      {result.data && (
        <p className="muted" data-testid="review-totals">
          {result.data.commissionTotals.count} pending, {formatMoney(result.data.commissionTotals.amount)}
        </p>
      )}
      {result.error && <p className="error">{errorMessage(result.error)}</p>}
      <div className="toolbar">
        <button
          type="button"
          disabled={busy || ids.length === 0}
          onClick={async () => {
            const response = await approve({ input: { ids } });
            finish("Approved", response.data?.approveCommissions, response.error);
          }}
        >
          Approve selected
        </button>
        <label>
          Reason (hold or cancel)
          <input value={reason} onChange={(event) => setReason(event.target.value)} />
        </label>
        <button
          type="button"
          className="secondary"
          disabled={busy || ids.length === 0}
          onClick={async () => {
            if (needsReason("hold")) return;
            const response = await hold({ input: { ids, reason } });
            finish("Held", response.data?.holdCommissions, response.error);
          }}
        >
          Hold selected
        </button>
        <button
          type="button"
          className="danger"
          disabled={busy || ids.length === 0}
          onClick={async () => {
            if (needsReason("cancel")) return;
            const response = await cancel({ input: { ids, reason } });
            finish("Cancelled", response.data?.cancelCommissions, response.error);
          }}
        >
          Cancel selected
        </button>
      </div>
      <BulkReport outcome={outcome} />
      <div className="table-scroll" tabIndex={0}>
        <table data-testid="review-queue">
          <thead>
            <tr>
              <th scope="col">
                <label className="check">
                  <input
                    type="checkbox"
                    checked={rows.length > 0 && rows.every(({ node }) => selected.has(node.id))}
                    onChange={(event) => setSelected(event.target.checked ? new Set(rows.map(({ node }) => node.id)) : new Set())}
                  />
                  <span className="visually-hidden">Select all on this page</span>
                </label>
              </th>
              <th scope="col">Sale date</th>
              <th scope="col">Partner</th>
              <th scope="col">Kind</th>
              <th scope="col" className="num">
                Amount
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ node }) => (
              <tr key={node.id}>
                <td>
                  <label className="check">
                    <input type="checkbox" checked={selected.has(node.id)} onChange={() => toggle(node.id)} />
                    <span className="visually-hidden">
                      Select {node.partner.name} {formatMoney(node.amount)}
                    </span>
                  </label>
                </td>
                <td>{formatDate(node.occurredAt)}</td>
                <td>{node.partner.name}</td>
                <td>{humanize(node.kind)}</td>
                <td className="num">{formatMoney(node.amount)}</td>
              </tr>
            ))}
            {rows.length === 0 && !result.fetching && (
              <tr>
                <td colSpan={5} className="muted">
                  Nothing waits for review.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
