/**
 * The participant's game screen (`/play/<code>`), phone first: lobby, question, reveal,
 * leaderboards and the end, redrawn from a snapshot after any reload or reconnect.
 */
import { useCallback, useEffect, useState } from "react";
import { OPTION_LETTERS, type ParticipantSnapshot } from "../../../src/shared/protocol.js";
import { describeError } from "../api.js";
import { ConnectionPill } from "../components/connection-pill.js";
import { HostAwayBanner } from "../components/host-away.js";
import { Leaderboard } from "../components/leaderboard.js";
import { letterIndex, QuestionHeader } from "../components/question-header.js";
import { TimerBar } from "../components/timer.js";
import { useHandoffs, useRoom, type Room } from "../room.js";
import { Link, navigate } from "../router.js";
import { clearRejoin, loadRejoin } from "../storage.js";
import type { ViewState } from "../view-state.js";

export function PlayScreen({ code }: { code: string }) {
  const handoffs = useHandoffs();
  const [stored] = useState(() => {
    const rejoin = loadRejoin();
    return rejoin?.code === code ? rejoin : null;
  });
  useEffect(() => {
    if (!stored) navigate(`/join/${code}`, { replace: true });
  }, [stored, code]);
  const room = useRoom(code, stored ? { role: "participant", rejoinToken: stored.rejoinToken } : null, handoffs);
  const { fatal } = room;
  const phase = room.view?.snapshot.phase;

  useEffect(() => {
    if (!fatal) return;
    if (fatal.code === "UNKNOWN_REJOIN_TOKEN" || fatal.code === "SESSION_NOT_FOUND") {
      clearRejoin(code);
      navigate(`/join/${code}`, { replace: true, notice: fatal.code === "SESSION_NOT_FOUND" ? "That tasting is over or the code has no session — check the number on the TV." : "We could not find you in that tasting any more. Join again with a name." });
    }
  }, [fatal, code]);
  useEffect(() => {
    if (phase === "ended") clearRejoin(code);
  }, [phase, code]);

  if (!stored) return null;
  const view = room.view as ViewState<ParticipantSnapshot> | null;
  return (
    <main className="page page-phone play" id="main">
      <header className="play-header">
        <p className="brand">Sommelier Arena</p>
        <ConnectionPill connection={room.connection} />
      </header>
      {fatal && fatal.code !== "UNKNOWN_REJOIN_TOKEN" && fatal.code !== "SESSION_NOT_FOUND" && (
        <p className="banner banner-error" role="alert">
          {fatal.message}
        </p>
      )}
      {view ? <PlayBody view={view} room={room} /> : <p className="muted loading">Joining tasting {code} as {stored.pseudonym}…</p>}
    </main>
  );
}

function PlayBody({ view, room }: { view: ViewState<ParticipantSnapshot>; room: Room }) {
  const s = view.snapshot;
  return (
    <>
      <HostAwayBanner snapshot={s} />
      {(s.phase === "question_revealed" || s.phase === "round_leaderboard") && <YouBadge snapshot={s} />}
      {s.phase === "waiting" && <PlayLobby snapshot={s} />}
      {(s.phase === "question_open" || s.phase === "question_paused") && <PlayQuestion view={view} room={room} />}
      {s.phase === "question_revealed" && <PlayReveal snapshot={s} />}
      {s.phase === "round_leaderboard" && s.roundLeaderboard && (
        <section aria-labelledby="round-title">
          <h1 id="round-title" className="title">
            After wine {s.roundLeaderboard.roundIndex + 1} of {s.roundLeaderboard.roundCount}
          </h1>
          <p className="muted">It was {s.roundLeaderboard.wineName}.</p>
          <p className="you-line">
            You are <strong>#{s.you.rank}</strong> with <strong>{s.you.score}</strong> points.
          </p>
          <Leaderboard rankings={s.roundLeaderboard.rankings} highlight={s.you.pseudonym} label="Standings" />
          <p className="muted">Next wine coming up…</p>
        </section>
      )}
      {s.phase === "ended" && <PlayEnd snapshot={s} />}
    </>
  );
}

function YouBadge({ snapshot: s }: { snapshot: ParticipantSnapshot }) {
  return (
    <p className="you-badge">
      {s.you.pseudonym} · {s.you.score} pts
    </p>
  );
}

function PlayLobby({ snapshot: s }: { snapshot: ParticipantSnapshot }) {
  const others = s.participants.filter((p) => p.id !== s.you.participantId);
  return (
    <section aria-labelledby="lobby-title" className="play-lobby">
      <h1 id="lobby-title" className="display">
        You're in, {s.you.pseudonym}
      </h1>
      <p className="lead">{s.title}</p>
      <p className="muted">The host will start soon. Keep this page open.</p>
      <h2 className="subtitle">
        {others.length === 0 ? "No one else yet" : `Also here (${others.length})`}
      </h2>
      <ul className="chips" aria-label="Others in the tasting">
        {others.map((p) => (
          <li key={p.id} className={`chip${p.connected ? "" : " chip-away"}`}>
            {p.pseudonym}
          </li>
        ))}
      </ul>
    </section>
  );
}

interface Choice {
  questionId: string;
  optionId: string;
  status: "saving" | "saved" | "error";
  message?: string;
}

function PlayQuestion({ view, room }: { view: ViewState<ParticipantSnapshot>; room: Room }) {
  const q = view.snapshot.question!;
  const [choice, setChoice] = useState<Choice | null>(null);
  const current = choice?.questionId === q.questionId ? choice : null;
  const chosen = current && current.status !== "error" ? current.optionId : view.snapshot.yourAnswer;

  const choose = useCallback(
    async (optionId: string) => {
      setChoice({ questionId: q.questionId, optionId, status: "saving" });
      const payload = { questionId: q.questionId, optionId };
      try {
        try {
          await room.request("submit_answer", payload);
        } catch (error) {
          // Sent, then the connection dropped: the last answer counts, so sending it again is safe.
          if (describeError(error).code !== "CONNECTION_LOST" || !room.client) throw error;
          await room.client.waitForConnection();
          await room.request("submit_answer", payload);
        }
        setChoice((c) => (c?.questionId === q.questionId && c.optionId === optionId ? { ...c, status: "saved" } : c));
      } catch (error) {
        const { message } = describeError(error);
        setChoice((c) => (c?.questionId === q.questionId && c.optionId === optionId ? { ...c, status: "error", message } : c));
      }
    },
    [q.questionId, room],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      const target = event.target as HTMLElement | null;
      if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) return;
      const index = OPTION_LETTERS.indexOf(event.key.toUpperCase() as (typeof OPTION_LETTERS)[number]);
      const option = q.options[index];
      if (index < 0 || !option) return;
      event.preventDefault();
      void choose(option.id);
      document.getElementById(`option-${option.id}`)?.focus();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [q.options, choose]);

  return (
    <section aria-labelledby="prompt" className="play-question">
      <TimerBar view={view} />
      <YouBadge snapshot={view.snapshot} />
      <QuestionHeader question={q} />
      <h1 id="prompt" className="prompt">
        {q.prompt}
      </h1>
      <div className="answers" role="group" aria-labelledby="prompt">
        {q.options.map((option) => {
          const letter = option.id;
          const selected = chosen === option.id;
          return (
            <button
              key={option.id}
              id={`option-${option.id}`}
              type="button"
              className={`answer answer-${letterIndex(option.id)}${selected ? " answer-selected" : ""}`}
              aria-label={`${letter}: ${option.text}`}
              aria-pressed={selected}
              aria-keyshortcuts={letter}
              onClick={() => void choose(option.id)}
            >
              <span className="answer-letter" aria-hidden="true">
                {letter}
              </span>
              <span className="answer-text">{option.text}</span>
              {selected && <span className="answer-check" aria-hidden="true">{current?.status === "saving" ? "Sending…" : "Your answer"}</span>}
            </button>
          );
        })}
      </div>
      <p className="hint" aria-live="polite">
        {current?.status === "error" ? <span className="field-problem">{current.message}</span> : chosen ? "You can change it until time is up." : "Tap an answer, or press A, B, C or D."}
      </p>
      {view.snapshot.phase === "question_paused" && <p className="banner">The host paused the timer.</p>}
    </section>
  );
}

function PlayReveal({ snapshot: s }: { snapshot: ParticipantSnapshot }) {
  const reveal = s.reveal;
  const q = s.question;
  const correctText = q?.options.find((o) => o.id === reveal?.correctOptionId)?.text;
  if (!reveal) return <p className="muted">Revealing…</p>;
  return (
    <section aria-labelledby="reveal-title" className={`play-reveal ${reveal.correct ? "reveal-right" : "reveal-wrong"}`}>
      {q && <QuestionHeader question={q} />}
      <h1 id="reveal-title" className="display" aria-live="polite">
        {reveal.correct ? "Right!" : reveal.yourOptionId === null ? "No answer" : "Not this time"}
      </h1>
      <p className="lead">
        The answer was{" "}
        <strong>
          {reveal.correctOptionId} · {correctText}
        </strong>
      </p>
      <p className="points">+{reveal.points} points</p>
      <p className="you-line">
        Total: <strong>{reveal.score}</strong> points
      </p>
    </section>
  );
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] ?? "th";
  return `${n}${suffix}`;
}

function PlayEnd({ snapshot: s }: { snapshot: ParticipantSnapshot }) {
  const rankings = s.finalRankings ?? [];
  const own = rankings.find((r) => r.pseudonym === s.you.pseudonym);
  return (
    <section aria-labelledby="end-title" className="play-end">
      <h1 id="end-title" className="display">
        {own ? `You finished ${ordinal(own.rank)}` : "The tasting is over"}
      </h1>
      {own && (
        <p className="lead">
          {own.score} points · {rankings.length} {rankings.length === 1 ? "taster" : "tasters"}
        </p>
      )}
      {s.endReason === "host_away" && <p className="muted">The host did not come back, so the tasting ended.</p>}
      <Leaderboard rankings={rankings} highlight={s.you.pseudonym} label="Final standings" />
      <p>
        <Link href="/" className="button button-secondary">
          Join another tasting
        </Link>
      </p>
    </section>
  );
}
