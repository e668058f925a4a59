import { useState, type FormEvent } from "react";
import { downloadExport } from "../shared/download.ts";
import { daysAgo } from "../shared/format.ts";

/** A statement for a chosen period (dates in the program's time zone), as CSV. */
export function Statement({ token }: { token: () => string }) {
  const [from, setFrom] = useState(daysAgo(30));
  const [to, setTo] = useState(daysAgo(0));
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      await downloadExport("/exports/statement.csv", { from, to }, token());
    } catch (error) {
      setProblem((error as Error).message);
    }
  };
  return (
    <section aria-labelledby="statement-heading">
      <h2 id="statement-heading">Statement</h2>
      <p className="muted">Every movement in the period with a running balance, from the balance it opened with.</p>
      <form className="inline" onSubmit={submit}>
        <label>
          From
          <input type="date" required value={from} onChange={(event) => setFrom(event.target.value)} />
        </label>
        <label>
          To
          <input type="date" required value={to} onChange={(event) => setTo(event.target.value)} />
        </label>
        <button type="submit">Download CSV</button>
      </form>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
    </section>
  );
}
