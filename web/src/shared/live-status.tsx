import type { ConnectionState } from "./client.ts";

const LABELS: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
};

/** Says whether live updates are arriving; announced politely when it changes. */
export function LiveStatus({ state }: { state: ConnectionState }) {
  return (
    <p className={`live-status live-status-${state}`} role="status" data-testid="live-status">
      <span className="dot" aria-hidden="true" />
      {LABELS[state]}
    </p>
  );
}
