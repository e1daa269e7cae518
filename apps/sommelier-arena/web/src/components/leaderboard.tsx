import type { Ranking } from "../../../src/shared/protocol.js";

/** Ranked rows, ties sharing a rank; `highlight` marks a participant's own row. */
export function Leaderboard({ rankings, highlight, label, limit }: { rankings: readonly Ranking[]; highlight?: string; label: string; limit?: number }) {
  const rows = limit === undefined ? rankings : rankings.slice(0, limit);
  if (rows.length === 0) return <p className="muted">No one has joined.</p>;
  return (
    <ol className="leaderboard" aria-label={label}>
      {rows.map((row, index) => {
        const own = row.pseudonym === highlight;
        return (
          <li key={row.pseudonym} className={`leaderboard-row${own ? " leaderboard-own" : ""}${row.rank === 1 ? " leaderboard-first" : ""}`} style={{ animationDelay: `${index * 60}ms` }} aria-current={own ? "true" : undefined}>
            <span className="leaderboard-rank">{row.rank}</span>
            <span className="leaderboard-name">
              {row.pseudonym}
              {own && <span className="leaderboard-you"> (you)</span>}
            </span>
            <span className="leaderboard-score">
              {row.score} <span className="leaderboard-pts">pts</span>
            </span>
          </li>
        );
      })}
    </ol>
  );
}

/** The top three on steps: second, first, third (ties share a step's rank). */
export function Podium({ rankings }: { rankings: readonly Ranking[] }) {
  const top = rankings.slice(0, 3);
  if (top.length === 0) return null;
  const order = [top[1], top[0], top[2]];
  const place = ["second", "first", "third"];
  return (
    <ol className="podium" aria-label="Podium">
      {order.map((row, index) =>
        row ? (
          <li key={row.pseudonym} className={`podium-step podium-${place[index]}`}>
            <span className="podium-name">{row.pseudonym}</span>
            <span className="podium-score">{row.score} pts</span>
            <span className="podium-block">
              <span className="podium-rank">{row.rank}</span>
            </span>
          </li>
        ) : (
          <li key={`empty-${index}`} className={`podium-step podium-${place[index]} podium-empty`} aria-hidden="true" />
        ),
      )}
    </ol>
  );
}
