/**
 * The host's live session (`/host/<code>`) on the TV: lobby → questions → reveal →
 * leaderboards → end. Host actions are requests; each button stays disabled while its
 * request is pending so a double press cannot skip a question. From the lobby the host can
 * open the editor on the same connection and change the tasting (`update_session`).
 */
import { useCallback, useState } from "react";
import type { ClientEvents, HostSnapshot, SessionInput } from "../../../src/shared/protocol.js";
import { describeError } from "../api.js";
import { ConnectionPill } from "../components/connection-pill.js";
import { useRoom, type Room } from "../room.js";
import { Link } from "../router.js";
import { hostIdentity } from "../storage.js";
import type { ViewState } from "../view-state.js";
import { SessionEditor } from "./editor.js";
import { HostEnd, HostQuestion, HostReveal, HostRound } from "./host-game.js";
import { HostLobby } from "./host-lobby.js";

type HostEvent = Extract<keyof ClientEvents, `host:${string}`>;

/** Runs host actions one at a time and keeps the last refusal to show near the controls. */
export interface HostActions {
  busy: HostEvent | null;
  error: string | null;
  run: (event: HostEvent, data?: ClientEvents[HostEvent][0]) => Promise<boolean>;
  /** Shows a message where refusals go, until the next action (null clears it). */
  report: (message: string | null) => void;
}

function useHostActions({ request }: Room): HostActions {
  const [busy, setBusy] = useState<HostEvent | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (event: HostEvent, data?: ClientEvents[HostEvent][0]) => {
      setBusy(event);
      setError(null);
      try {
        await request(event, data as never);
        return true;
      } catch (failure) {
        setError(describeError(failure).message);
        return false;
      } finally {
        setBusy(null);
      }
    },
    [request],
  );
  return { busy, error, run, report: setError };
}

// Why the editor closed without saving: the session left its lobby (from another tab of this host).
const STARTED_WHILE_EDITING = "The tasting has already started, so your changes were not saved.";
const ENDED_WHILE_EDITING = "The tasting has ended, so your changes were not saved.";

export function HostSessionScreen({ code }: { code: string }) {
  const [identity] = useState(hostIdentity);
  const room = useRoom(code, { role: "host", ...identity });
  const actions = useHostActions(room);
  const view = room.view as ViewState<HostSnapshot> | null;
  const phase = view?.snapshot.phase;
  const [editing, setEditing] = useState(false);
  if (editing && phase !== undefined && phase !== "waiting") {
    setEditing(false);
    actions.report(phase === "ended" ? ENDED_WHILE_EDITING : STARTED_WHILE_EDITING);
  }

  async function save(session: SessionInput) {
    try {
      await room.request("update_session", session);
      // lobby:updated brings the title, timer and wine count, not the wines the editor reopens with.
      void room.refresh();
    } catch (error) {
      if (describeError(error).code !== "WRONG_PHASE") throw error;
      actions.report(STARTED_WHILE_EDITING);
    }
    setEditing(false);
  }

  if (view && editing) {
    return <SessionEditor heading="Edit tasting" initial={view.snapshot} submitLabels={["Save changes", "Saving…"]} onSave={save} onCancel={() => setEditing(false)} />;
  }
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
      {view && <HostBody view={view} actions={actions} onEdit={() => (actions.report(null), setEditing(true))} />}
      {actions.error && (
        <p className="banner banner-error action-error" role="alert">
          {actions.error}
        </p>
      )}
    </main>
  );
}

function HostBody({ view, actions, onEdit }: { view: ViewState<HostSnapshot>; actions: HostActions; onEdit: () => void }) {
  switch (view.snapshot.phase) {
    case "waiting":
      return <HostLobby snapshot={view.snapshot} actions={actions} onEdit={onEdit} />;
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
