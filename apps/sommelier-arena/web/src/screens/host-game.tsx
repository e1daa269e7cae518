/** The host's game screens on the TV: question, reveal, round leaderboard, the end. */
import { useState } from "react";
import { CATEGORIES, type HostSnapshot } from "../../../src/shared/protocol.js";
import { downloadCsv } from "../api.js";
import { Leaderboard, Podium } from "../components/leaderboard.js";
import { letterIndex, QuestionHeader } from "../components/question-header.js";
import { TimerRing } from "../components/timer.js";
import { Link } from "../router.js";
import type { ViewState } from "../view-state.js";
import type { HostActions } from "./host-session.js";

/** End asks first: ending is for everyone and cannot be undone. */
export function EndButton({ actions }: { actions: HostActions }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="button button-quiet" disabled={actions.busy !== null} onClick={() => setAsking(true)}>
        End tasting
      </button>
    );
  }
  return (
    <div className="confirm" role="alertdialog" aria-labelledby="confirm-end" aria-modal="false">
      <p id="confirm-end">End the tasting for everyone now?</p>
      <button type="button" className="button button-danger" autoFocus disabled={actions.busy !== null} onClick={() => void actions.run("host:end").then(() => setAsking(false))}>
        Yes, end it
      </button>
      <button type="button" className="button button-secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </div>
  );
}

/** `host:next` (labelled for where it leads) and End, under a reveal or the standings. */
function NextControls({ actions, label }: { actions: HostActions; label: string }) {
  return (
    <div className="controls">
      <button type="button" className="button button-primary button-big" disabled={actions.busy !== null} onClick={() => void actions.run("host:next")}>
        {actions.busy === "host:next" ? "…" : label}
      </button>
      <EndButton actions={actions} />
    </div>
  );
}

export function HostQuestion({ view, actions }: { view: ViewState<HostSnapshot>; actions: HostActions }) {
  const s = view.snapshot;
  const q = s.question!;
  const paused = s.phase === "question_paused";
  const answeredCount = s.answeredCount;
  const total = s.participants.length;
  return (
    <section className="tv-question" aria-labelledby="tv-prompt">
      <div className="tv-question-top">
        <div>
          <QuestionHeader question={q} />
          <h1 id="tv-prompt" className="tv-prompt">
            {q.prompt}
          </h1>
        </div>
        <TimerRing view={view} />
      </div>
      <ul className="tv-options" aria-label="Options">
        {q.options.map((o) => (
          <li key={o.id} className={`tv-option answer-${letterIndex(o.id)}`}>
            <span className="answer-letter" aria-hidden="true">
              {o.id}
            </span>
            <span className="visually-hidden">{o.id}: </span>
            <span className="answer-text">{o.text}</span>
          </li>
        ))}
      </ul>
      <div className="tv-footer">
        <p className="answered" aria-live="polite" data-testid="answered">
          <strong>
            {answeredCount} / {total}
          </strong>{" "}
          answered
        </p>
        <progress className="answered-bar" max={Math.max(1, total)} value={answeredCount} aria-label="Answers received" />
        <div className="controls">
          <button type="button" className="button button-secondary" disabled={actions.busy !== null} onClick={() => void actions.run(paused ? "host:resume" : "host:pause")}>
            {paused ? "Resume" : "Pause"}
          </button>
          <button type="button" className="button button-primary" disabled={actions.busy !== null} onClick={() => void actions.run("host:reveal")}>
            {actions.busy === "host:reveal" ? "Revealing…" : "Reveal answer"}
          </button>
          <EndButton actions={actions} />
        </div>
      </div>
    </section>
  );
}

export function HostReveal({ snapshot: s, actions }: { snapshot: HostSnapshot; actions: HostActions }) {
  const q = s.question;
  const reveal = s.reveal;
  if (!q || !reveal) return <p className="muted">Revealing…</p>;
  const max = Math.max(1, ...Object.values(reveal.counts));
  const right = reveal.results.filter((r) => r.correct);
  const correct = q.options.find((o) => o.id === reveal.correctOptionId);
  const isLastOfWine = q.questionIndex === CATEGORIES.length - 1;
  return (
    <section className="tv-reveal" aria-labelledby="tv-reveal-title">
      <QuestionHeader question={q} />
      <h1 id="tv-reveal-title" className="tv-prompt" aria-live="polite">
        {q.prompt} <span className="reveal-answer">{correct ? `${correct.id} · ${correct.text}` : ""}</span>
      </h1>
      <ul className="distribution" aria-label="Answers per option">
        {q.options.map((o) => {
          const count = reveal.counts[o.id] ?? 0;
          const isCorrect = o.id === reveal.correctOptionId;
          return (
            <li key={o.id} className={`distribution-row answer-${letterIndex(o.id)}${isCorrect ? " distribution-correct" : ""}`}>
              <span className="answer-letter" aria-hidden="true">
                {o.id}
              </span>
              <span className="distribution-text">
                <span className="visually-hidden">{o.id}: </span>
                {o.text}
                {isCorrect && <span className="correct-tag"> ✓ correct</span>}
              </span>
              <span className="distribution-track" aria-hidden="true">
                <span className="distribution-bar" style={{ width: `${(count / max) * 100}%` }} />
              </span>
              <span className="distribution-count" data-testid={`count-${o.id}`}>
                {count} {count === 1 ? "answer" : "answers"}
              </span>
            </li>
          );
        })}
      </ul>
      <div className="got-it">
        <h2 className="subtitle">{right.length === 0 ? "Nobody got it" : `Got it (${right.length} of ${reveal.results.length})`}</h2>
        <ul className="chips chips-tv" aria-label="Got it right">
          {right.map((r) => (
            <li key={r.participantId} className="chip chip-gold">
              {r.pseudonym}
            </li>
          ))}
        </ul>
      </div>
      <NextControls actions={actions} label={isLastOfWine ? "Show standings" : "Next question"} />
    </section>
  );
}

export function HostRound({ snapshot: s, actions }: { snapshot: HostSnapshot; actions: HostActions }) {
  const board = s.roundLeaderboard;
  if (!board) return null;
  const last = board.roundIndex + 1 >= board.roundCount;
  return (
    <section className="tv-round" aria-labelledby="tv-round-title">
      <h1 id="tv-round-title" className="tv-title-big">
        Standings after wine {board.roundIndex + 1} of {board.roundCount}
      </h1>
      <p className="lead">It was {board.wineName}.</p>
      <Leaderboard rankings={board.rankings} label="Standings" limit={10} />
      <NextControls actions={actions} label={last ? "Final results" : "Next wine"} />
    </section>
  );
}

export function HostEnd({ snapshot: s }: { snapshot: HostSnapshot }) {
  const rankings = s.finalRankings ?? s.rankings;
  return (
    <section className="tv-end" aria-labelledby="tv-end-title">
      <h1 id="tv-end-title" className="tv-title-big">
        Final results
      </h1>
      {s.endReason === "host_away" && <p className="muted">The tasting ended because the host was away too long.</p>}
      <Podium rankings={rankings} />
      <Leaderboard rankings={rankings} label="Final standings" />
      <div className="controls">
        <button type="button" className="button button-secondary" onClick={() => downloadCsv(s.code, rankings)}>
          Export CSV
        </button>
        <Link href="/host/new" className="button button-primary">
          New tasting
        </Link>
        <Link href="/host" className="button button-quiet">
          Your tastings
        </Link>
      </div>
    </section>
  );
}
