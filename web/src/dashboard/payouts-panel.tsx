import { useEffect, useState } from "react";
import { useMutation, useQuery } from "urql";
import { downloadExport } from "../shared/download.ts";
import { errorMessage, formatDate, formatMoney, humanize } from "../shared/format.ts";
import type { PayoutMethodType, PayoutStatus } from "../gql/graphql.ts";
import { BulkReport, type BulkOutcome } from "./bulk-report.tsx";
import { ApprovePayoutsDoc, CancelPayoutsDoc, MarkPaidDoc, PayoutsDoc, RunPayoutsDoc } from "./documents.ts";

const METHODS: PayoutMethodType[] = ["PAYPAL", "WISE", "BANK_TRANSFER", "ACH", "WIRE", "CHECK", "VENMO", "ZELLE", "STORE_CREDIT", "OTHER"];

/** Run payouts (with the skip report), approve, mark paid, cancel, and export. */
export function PayoutsPanel({ version, onChanged, token }: { version: number; onChanged: () => void; token: () => string }) {
  const [status, setStatus] = useState<PayoutStatus | "">("DRAFT");
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [method, setMethod] = useState<PayoutMethodType>("PAYPAL");
  const [reference, setReference] = useState("");
  const [reason, setReason] = useState("");
  const [outcome, setOutcome] = useState<BulkOutcome | null>(null);
  const [run, setRun] = useState<{ created: string[]; skipped: { name: string; message: string }[]; error?: string } | null>(null);
  const filter = status ? { status: [status] } : {};
  const [result, reload] = useQuery({ query: PayoutsDoc, variables: { filter } });
  const [running, runPayouts] = useMutation(RunPayoutsDoc);
  const [, approve] = useMutation(ApprovePayoutsDoc);
  const [, markPaid] = useMutation(MarkPaidDoc);
  const [, cancel] = useMutation(CancelPayoutsDoc);
  useEffect(() => {
    if (version > 0) reload({ requestPolicy: "network-only" });
  }, [version, reload]);
  const rows = result.data?.payouts.edges ?? [];
  const ids = [...selected];
  const finish = (
    verb: string,
    payload: { payouts: readonly unknown[]; skipped: BulkOutcome["skipped"]; userErrors: readonly { message: string }[] } | undefined,
    error: { message: string } | undefined,
  ) => {
    setOutcome({ done: `${verb} ${payload?.payouts.length ?? 0} payouts.`, skipped: payload?.skipped ?? [], error: payload?.userErrors[0]?.message ?? error?.message });
    setSelected(new Set());
    onChanged();
  };
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const exportCsv = (path: string) => downloadExport(path, status ? { status } : {}, token()).catch((error: Error) => setOutcome({ done: "", skipped: [], error: error.message }));
  return (
    <section aria-labelledby="payouts-heading">
      <h2 id="payouts-heading">Payouts</h2>
      <div className="toolbar">
        <button
          type="button"
          disabled={running.fetching}
          onClick={async () => {
            const response = await runPayouts({ input: { idempotencyKey: crypto.randomUUID() } });
            const payload = response.data?.runPayouts;
            setRun({
              created: payload?.payouts.map((payout) => `${payout.partner.name}: ${formatMoney(payout.amount)}`) ?? [],
              skipped: payload?.skipped.map((skip) => ({ name: skip.partner?.name ?? "a partner", message: skip.message })) ?? [],
              error: payload?.userErrors[0]?.message ?? response.error?.message,
            });
            setStatus("DRAFT");
            onChanged();
          }}
        >
          Run payouts
        </button>
        <button type="button" className="secondary" onClick={() => exportCsv("/exports/payouts.csv")}>
          Export payouts CSV
        </button>
        <button type="button" className="secondary" onClick={() => exportCsv("/exports/commissions.csv")}>
          Export commissions CSV
        </button>
      </div>
      {run && (
        <div role="status" data-testid="run-report">
          {run.error ? (
            <p className="error">{run.error}</p>
          ) : (
            <p className="ok">
              Drafted {run.created.length} payouts{run.created.length ? `: ${run.created.join("; ")}` : "."}
            </p>
          )}
          {run.skipped.length > 0 && (
            <div className="notice">
              <p style={{ margin: 0 }}>Skipped {run.skipped.length} partners:</p>
              <ul>
                {run.skipped.map((skip, index) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: one run's result, rendered once and never reordered or edited
                  <li key={index}>
                    {skip.name}: {skip.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}
      <form className="inline" onSubmit={(event) => event.preventDefault()} aria-label="Act on payouts">
        <label>
          Show
          <select value={status} onChange={(event) => (setStatus(event.target.value as PayoutStatus | ""), setSelected(new Set()))}>
            <option value="">All</option>
            <option value="DRAFT">Drafts</option>
            <option value="APPROVED">Approved</option>
            <option value="PAID">Paid</option>
            <option value="CANCELLED">Cancelled</option>
          </select>
        </label>
        <button
          type="button"
          disabled={ids.length === 0}
          onClick={async () => {
            const response = await approve({ input: { ids, idempotencyKey: crypto.randomUUID() } });
            finish("Approved", response.data?.approvePayouts, response.error);
          }}
        >
          Approve selected
        </button>
        <label>
          Paid by
          <select value={method} onChange={(event) => setMethod(event.target.value as PayoutMethodType)}>
            {METHODS.map((value) => (
              <option key={value} value={value}>
                {humanize(value)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Reference
          <input value={reference} onChange={(event) => setReference(event.target.value)} />
        </label>
        <button
          type="button"
          disabled={ids.length === 0}
          onClick={async () => {
            const response = await markPaid({ input: { ids, method, reference: reference || null, idempotencyKey: crypto.randomUUID() } });
            finish("Marked paid", response.data?.markPayoutsPaid, response.error);
          }}
        >
          Mark selected paid
        </button>
        <label>
          Cancel reason
          <input value={reason} onChange={(event) => setReason(event.target.value)} />
        </label>
        <button
          type="button"
          className="danger"
          disabled={ids.length === 0 || !reason.trim()}
          onClick={async () => {
            const response = await cancel({ input: { ids, reason, idempotencyKey: crypto.randomUUID() } });
            finish("Cancelled", response.data?.cancelPayouts, response.error);
          }}
        >
          Cancel selected
        </button>
      </form>
      <BulkReport outcome={outcome} />
      {result.error && <p className="error">{errorMessage(result.error)}</p>}
      {result.data && (
        <p className="muted" data-testid="payout-totals">
          {result.data.payoutTotals.count} payouts, {formatMoney(result.data.payoutTotals.amount)}
        </p>
      )}
      <div className="table-scroll" tabIndex={0}>
        <table data-testid="payouts">
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Select</span>
              </th>
              <th scope="col">Partner</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Amount
              </th>
              <th scope="col">Lines</th>
              <th scope="col">Created</th>
              <th scope="col">Paid</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ node }) => (
              <tr key={node.id}>
                <td>
                  <label className="check">
                    <input type="checkbox" checked={selected.has(node.id)} onChange={() => toggle(node.id)} />
                    <span className="visually-hidden">Select the payout to {node.partner.name}</span>
                  </label>
                </td>
                <td>{node.partner.name}</td>
                <td>
                  <span className={`badge status-${node.status}`}>{humanize(node.status)}</span>
                </td>
                <td className="num">{formatMoney(node.amount)}</td>
                <td>{node.lineCount}</td>
                <td>{formatDate(node.createdAt)}</td>
                <td>{node.paidAt ? `${formatDate(node.paidAt)}${node.reference ? ` (${node.reference})` : ""}` : "–"}</td>
              </tr>
            ))}
            {rows.length === 0 && !result.fetching && (
              <tr>
                <td colSpan={7} className="muted">
                  No payouts here.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
