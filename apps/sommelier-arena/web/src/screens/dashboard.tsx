/** The host's dashboard (`/host`): identity, "New tasting", and every session from the host index. */
import { useEffect, useState } from "react";
import type { HostIndexEntry, SessionStatus } from "../../../src/shared/protocol.js";
import { describeError, downloadCsv, listSessions } from "../api.js";
import { Leaderboard } from "../components/leaderboard.js";
import { Link } from "../router.js";
import { hostIdentity } from "../storage.js";

const STATUS: Record<SessionStatus, string> = { waiting: "Waiting to start", live: "Live", ended: "Ended" };

export function DashboardScreen() {
  const [identity] = useState(hostIdentity);
  const [entries, setEntries] = useState<HostIndexEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    listSessions()
      .then((list) => live && setEntries(list))
      .catch((failure) => live && setError(describeError(failure).message));
    return () => {
      live = false;
    };
  }, []);
  return (
    <main className="page page-host dashboard" id="main">
      <header className="host-header">
        <div>
          <p className="brand">Sommelier Arena</p>
          <p className="host-id">
            Host <strong data-testid="host-id">{identity.hostId}</strong>
          </p>
        </div>
        <Link href="/host/new" className="button button-primary button-big">
          New tasting
        </Link>
      </header>
      <h1 className="display">Your tastings</h1>
      {error && (
        <p className="banner banner-error" role="alert">
          {error}
        </p>
      )}
      {entries === null && !error && <p className="muted">Loading your tastings…</p>}
      {entries?.length === 0 && <p className="lead">No tastings yet. Create one with “New tasting”.</p>}
      {entries && entries.length > 0 && (
        <ul className="cards" aria-label="Tastings">
          {entries.map((entry) => (
            <SessionCard key={entry.code} entry={entry} />
          ))}
        </ul>
      )}
      <p className="host-link">
        <Link href="/">Join a tasting as a guest</Link>
      </p>
    </main>
  );
}

function SessionCard({ entry }: { entry: HostIndexEntry }) {
  const [open, setOpen] = useState(false);
  const rankings = entry.finalRankings ?? [];
  const live = entry.status !== "ended";
  const date = new Date(entry.createdAt).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  const resultsId = `results-${entry.code}`;
  return (
    <li className="card session-card" aria-labelledby={`title-${entry.code}`}>
      <div className="session-card-head">
        <h2 id={`title-${entry.code}`} className="card-title">
          {entry.title}
        </h2>
        <span className={`status status-${entry.status}`}>{STATUS[entry.status]}</span>
      </div>
      <p className="muted">
        {date} · code {entry.code} · {entry.participantCount} {entry.participantCount === 1 ? "taster" : "tasters"}
      </p>
      {rankings.length > 0 && (
        <ol className="top-three" aria-label="Top three">
          {rankings.slice(0, 3).map((r) => (
            <li key={r.pseudonym}>
              <span className="top-rank">{r.rank}.</span> {r.pseudonym} <span className="muted">({r.score})</span>
            </li>
          ))}
        </ol>
      )}
      <div className="card-actions">
        {live && (
          <Link href={`/host/${entry.code}`} className="button button-primary" aria-label={`Open ${entry.title}`}>
            Open
          </Link>
        )}
        {rankings.length > 0 && (
          <button type="button" className="button button-secondary" aria-expanded={open} aria-controls={resultsId} onClick={() => setOpen(!open)}>
            Results
          </button>
        )}
        {rankings.length > 0 && (
          <button type="button" className="button button-secondary" onClick={() => downloadCsv(entry.code, rankings)} aria-label={`Export CSV of ${entry.title}`}>
            Export CSV
          </button>
        )}
      </div>
      {open && (
        <div id={resultsId} className="card-results">
          <Leaderboard rankings={rankings} label={`Results of ${entry.title}`} />
        </div>
      )}
    </li>
  );
}
