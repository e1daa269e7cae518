/**
 * The host's live session (`/host/<code>`) on the TV: lobby → questions → reveal →
 * leaderboards → end. Host actions are requests; each button stays disabled while its
 * request is pending so a double press cannot skip a question.
 */
import { useCallback, useState } from "react";
import type { ClientEvents, HostSnapshot } from "../../../src/shared/protocol.js";
import { describeError } from "../api.js";
import { ConnectionPill } from "../components/connection-pill.js";
import { useRoom, type Room } from "../room.js";
import { Link } from "../router.js";
import { hostIdentity } from "../storage.js";
import type { ViewState } from "../view-state.js";
import { HostEnd, HostQuestion, HostReveal, HostRound } from "./host-game.js";
import { HostLobby } from "./host-lobby.js";

type HostEvent = Extract<keyof ClientEvents, `host:${string}`>;

/** Runs host actions one at a time and keeps the last refusal to show near the controls. */
export interface HostActions {
  busy: HostEvent | null;
  error: string | null;
  run: (event: HostEvent, data?: ClientEvents[HostEvent][0]) => Promise<boolean>;
}

function useHostActions(room: Room): HostActions {
  const [busy, setBusy] = useState<HostEvent | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (event: HostEvent, data?: ClientEvents[HostEvent][0]) => {
      setBusy(event);
      setError(null);
      try {
        await room.request(event, data as never);
        return true;
      } catch (failure) {
        setError(describeError(failure).message);
        return false;
      } finally {
        setBusy(null);
      }
    },
    [room],
  );
  return { busy, error, run };
}

export function HostSessionScreen({ code }: { code: string }) {
  const [identity] = useState(hostIdentity);
  const room = useRoom(code, { role: "host", ...identity });
  const actions = useHostActions(room);
  const view = room.view as ViewState<HostSnapshot> | null;
  const phase = view?.snapshot.phase;
  return (
    <main className={`page page-tv host-live phase-${phase ?? "loading"}`} id="main">
      <header className="tv-header">
        <p className="brand">Sommelier Arena</p>
        {view && <p className="tv-title">{view.snapshot.title}</p>}
        <p className="tv-code-small" aria-label={`Session code ${code}`}>
          {phase !== "waiting" && phase !== undefined ? `Code ${code}` : ""}
        </p>
        <ConnectionPill connection={room.connection} />
      </header>
      {room.fatal && (
        <div className="banner banner-error" role="alert">
          <p>{room.fatal.message}</p>
          <p>
            <Link href="/host">Back to your tastings</Link>
          </p>
        </div>
      )}
      {!view && !room.fatal && <p className="muted loading">Opening tasting {code}…</p>}
      {view && <HostBody view={view} actions={actions} />}
      {actions.error && (
        <p className="banner banner-error action-error" role="alert">
          {actions.error}
        </p>
      )}
    </main>
  );
}

function HostBody({ view, actions }: { view: ViewState<HostSnapshot>; actions: HostActions }) {
  switch (view.snapshot.phase) {
    case "waiting":
      return <HostLobby snapshot={view.snapshot} actions={actions} />;
    case "question_open":
    case "question_paused":
      return <HostQuestion view={view} actions={actions} />;
    case "question_revealed":
      return <HostReveal snapshot={view.snapshot} actions={actions} />;
    case "round_leaderboard":
      return <HostRound snapshot={view.snapshot} actions={actions} />;
    case "ended":
      return <HostEnd snapshot={view.snapshot} />;
  }
}
