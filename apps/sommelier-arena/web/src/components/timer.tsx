/**
 * The question timer: counted down locally between the server's ticks (smooth on screen),
 * drawn as a ring on the TV and a thin bar on phones, announced at coarse steps only.
 */
import { useEffect, useRef, useState } from "react";
import { remainingAt, type ViewState } from "../view-state.js";

function usePrefersReducedMotion(): boolean {
  const [reduced, setReduced] = useState(() => matchMedia("(prefers-reduced-motion: reduce)").matches);
  useEffect(() => {
    const query = matchMedia("(prefers-reduced-motion: reduce)");
    const update = () => setReduced(query.matches);
    query.addEventListener("change", update);
    return () => query.removeEventListener("change", update);
  }, []);
  return reduced;
}

/** Milliseconds left, re-rendered every frame (or every quarter second with reduced motion). */
function useRemaining(view: ViewState): number {
  const reduced = usePrefersReducedMotion();
  const [now, setNow] = useState(() => performance.now());
  const running = view.snapshot.phase === "question_open";
  useEffect(() => {
    setNow(performance.now());
    if (!running) return;
    if (reduced) {
      const timer = setInterval(() => setNow(performance.now()), 250);
      return () => clearInterval(timer);
    }
    let frame = requestAnimationFrame(function loop(time) {
      setNow(time);
      frame = requestAnimationFrame(loop);
    });
    return () => cancelAnimationFrame(frame);
  }, [running, reduced, view.timerAt]);
  return remainingAt(view, Math.max(now, view.timerAt));
}

function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** A visually hidden live region that speaks at 30 s, 10 s and when time is up. */
function TimerAnnouncer({ remainingMs, durationMs, questionId }: { remainingMs: number; durationMs: number; questionId: string }) {
  const [message, setMessage] = useState("");
  const spoken = useRef<{ questionId: string; steps: Set<string> }>({ questionId, steps: new Set() });
  if (spoken.current.questionId !== questionId) spoken.current = { questionId, steps: new Set() };
  const left = seconds(remainingMs);
  useEffect(() => {
    const steps = spoken.current.steps;
    const say = (step: string, text: string) => {
      if (steps.has(step)) return;
      steps.add(step);
      setMessage(text);
    };
    if (left === 0) say("up", "Time is up");
    else if (left <= 10 && durationMs > 10_000) say("10", "10 seconds left");
    else if (left <= 30 && durationMs > 30_000) say("30", "30 seconds left");
  }, [left, durationMs]);
  return (
    <p className="visually-hidden" aria-live="polite">
      {message}
    </p>
  );
}

interface TimerProps {
  view: ViewState;
}

/** What both timers draw: the time left, the share of the question's duration it is, and whether it is paused. */
function useTimer(view: ViewState) {
  const remaining = useRemaining(view);
  const q = view.snapshot.question;
  const fraction = q && q.durationMs > 0 ? Math.min(1, remaining / q.durationMs) : 0;
  return { q, remaining, fraction, paused: view.snapshot.phase === "question_paused" };
}

export function TimerRing({ view }: TimerProps) {
  const { q, remaining, fraction, paused } = useTimer(view);
  if (!q) return null;
  const radius = 54;
  const circumference = 2 * Math.PI * radius;
  const low = remaining <= 10_000;
  return (
    <div className={`timer-ring${low ? " timer-low" : ""}`} data-testid="timer">
      <svg viewBox="0 0 120 120" aria-hidden="true">
        <circle className="timer-ring-track" cx="60" cy="60" r={radius} />
        <circle
          className="timer-ring-fill"
          cx="60"
          cy="60"
          r={radius}
          strokeDasharray={circumference}
          strokeDashoffset={circumference * (1 - fraction)}
          transform="rotate(-90 60 60)"
        />
      </svg>
      <span className="timer-ring-text" role="timer" aria-label={`${seconds(remaining)} seconds left${paused ? ", paused" : ""}`}>
        {seconds(remaining)}
        {paused && <span className="timer-paused">Paused</span>}
      </span>
      <TimerAnnouncer remainingMs={remaining} durationMs={q.durationMs} questionId={q.questionId} />
    </div>
  );
}

export function TimerBar({ view }: TimerProps) {
  const { q, remaining, fraction, paused } = useTimer(view);
  if (!q) return null;
  return (
    <div className="timer-bar-wrap" data-testid="timer">
      <div
        className={`timer-bar${remaining <= 10_000 ? " timer-low" : ""}`}
        role="progressbar"
        aria-label="Time left"
        aria-valuemin={0}
        aria-valuemax={seconds(q.durationMs)}
        aria-valuenow={seconds(remaining)}
        aria-valuetext={`${seconds(remaining)} seconds left${paused ? ", paused" : ""}`}
      >
        <div className="timer-bar-fill" style={{ transform: `scaleX(${fraction})` }} />
      </div>
      <p className="timer-bar-text">
        {paused ? "Paused — " : ""}
        {seconds(remaining)} s
      </p>
      <TimerAnnouncer remainingMs={remaining} durationMs={q.durationMs} questionId={q.questionId} />
    </div>
  );
}
