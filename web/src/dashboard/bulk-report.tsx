export interface BulkOutcome {
  done: string;
  skipped: readonly { id: string; code: string; message: string }[];
  error?: string;
}

/** What a bulk action changed and, one by one, what it skipped and why. */
export function BulkReport({ outcome }: { outcome: BulkOutcome | null }) {
  if (!outcome) return null;
  return (
    <div role="status" data-testid="bulk-report">
      {outcome.error ? <p className="error">{outcome.error}</p> : <p className="ok">{outcome.done}</p>}
      {outcome.skipped.length > 0 && (
        <div className="notice">
          <p style={{ margin: 0 }}>Skipped {outcome.skipped.length}:</p>
          <ul>
            {outcome.skipped.map((item) => (
              <li key={item.id}>
                <code>{item.id}</code>: {item.message} ({item.code})
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
