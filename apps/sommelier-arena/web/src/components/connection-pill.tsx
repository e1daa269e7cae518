import type { Connection } from "../room.js";

const LABELS: Record<Connection, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline — retrying",
  closed: "Disconnected",
};

/** The small status pill every room screen shows; announced politely when it changes. */
export function ConnectionPill({ connection }: { connection: Connection }) {
  return (
    <p className={`pill pill-${connection}`} role="status" aria-live="polite" data-testid="connection">
      <span className="pill-dot" aria-hidden="true" />
      {LABELS[connection]}
    </p>
  );
}
