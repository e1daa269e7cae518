/**
 * `useRoom`: one session's room for a screen. It opens a CellarClient, proves who this page
 * is (`rejoin_host` or `rejoin_session`) after the first open and after every resync,
 * applies the server's events to the view state, and reports the connection and any
 * refusal that ends the page's stay in the session.
 */
import { createContext, useCallback, useContext, useEffect, useReducer, useRef, useState } from "react";
import { CellarClient, type ClientState } from "cellar/client";
import { CLOSE_CODES, SERVER_EVENT_NAMES, type ClientEvents, type Snapshot } from "../../src/shared/protocol.js";
import { describeError, friendlyMessage, roomUrl } from "./api.js";
import { reduceView, type ViewAction, type ViewState } from "./view-state.js";

export type Credentials = { role: "host"; hostId: string; hostKey: string } | { role: "participant"; rejoinToken: string };

/** What the connection pill shows; "connecting" until the client was open once. */
export type Connection = "connecting" | "live" | "reconnecting" | "offline" | "closed";

/** What ends the page's stay: the session is gone, the token or key is refused, the connection closed for good. */
export interface Fatal {
  code: string;
  message: string;
}

/** A client that already joined (the join form's), handed to the game screen so it does not reconnect. */
export interface Handoff {
  code: string;
  rejoinToken: string;
  client: CellarClient;
  snapshot: Snapshot;
}

/** Holds at most one handoff between the join form and the game screen. */
export class HandoffSlot {
  #value: Handoff | null = null;
  put(value: Handoff): void {
    this.#value?.client.close();
    this.#value = value;
  }
  take(code: string, rejoinToken: string): Handoff | null {
    const value = this.#value;
    if (!value || value.code !== code || value.rejoinToken !== rejoinToken) return null;
    this.#value = null;
    return value;
  }
}

/** Provided once by the app (no slot outside it: nothing is handed over). */
export const HandoffContext = createContext<HandoffSlot | null>(null);

const RETRY_REJOIN_MS = 2000;

const FATAL_CODES = new Set(["UNKNOWN_REJOIN_TOKEN", "WRONG_HOST_KEY", "SESSION_NOT_FOUND", "INVALID_HOST_ID", "INVALID_HOST_KEY"]);

/** Closes that end the client for good, in plain words. */
export function closeError(code: number, reason: string): Fatal {
  if (code === CLOSE_CODES.SESSION_NOT_FOUND) return { code: "SESSION_NOT_FOUND", message: friendlyMessage("SESSION_NOT_FOUND") };
  if (code === CLOSE_CODES.TOO_MANY_ATTEMPTS) return { code: "TOO_MANY_ATTEMPTS", message: friendlyMessage("TOO_MANY_ATTEMPTS") };
  return { code: "CONNECTION_CLOSED", message: `The server closed the connection${reason ? ` (${reason})` : ""}. Reload the page to try again.` };
}

export function newClient(code: string): CellarClient {
  // "memory": a reload starts a new Cellar session and proves who it is with rejoin_*; two
  // tabs of the same browser then never steal each other's connection.
  return new CellarClient(roomUrl(code), { sessionStore: "memory" });
}

/**
 * The pill's state from the client's state, the browser's network state and whether this
 * client was ever open (its first failed attempt is already "reconnecting" for Cellar, but
 * nothing was lost yet: the page is still connecting).
 * @example
 * connectionOf("reconnecting", true, false); // "connecting"
 */
export function connectionOf(state: ClientState, online: boolean, everOpen: boolean): Connection {
  if (state === "closed") return "closed";
  if (!online) return "offline";
  if (state === "open") return "live";
  return everOpen ? "reconnecting" : "connecting";
}

/** The client's state and the browser's network state, as the connection pill shows them. */
export function useConnection(client: CellarClient | null): Connection {
  const [state, setState] = useState<ClientState>(client?.state ?? "connecting");
  // The client it was open for: a new client (other code or credentials) starts over.
  const [openedClient, setOpenedClient] = useState<CellarClient | null>(client?.state === "open" ? client : null);
  const [online, setOnline] = useState(typeof navigator === "undefined" ? true : navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    return () => {
      window.removeEventListener("online", update);
      window.removeEventListener("offline", update);
    };
  }, []);
  useEffect(() => {
    if (!client) return;
    const listener = (next: ClientState) => {
      setState(next);
      if (next === "open") setOpenedClient(client);
    };
    listener(client.state);
    client.on("$state", listener);
    return () => void client.off("$state", listener);
  }, [client]);
  return connectionOf(state, online, client !== null && openedClient === client);
}

type Requester = <E extends keyof ClientEvents>(event: E, data?: ClientEvents[E][0]) => Promise<ClientEvents[E][1]>;

export interface Room {
  view: ViewState | null;
  client: CellarClient | null;
  connection: Connection;
  fatal: Fatal | null;
  /** Sends a request; a refusal because this connection lost its identity rejoins and tries once more. */
  request: Requester;
  /** Rejoins for a fresh snapshot: events carry no host-only data such as the edited wines. */
  refresh: () => Promise<void>;
}

export function useRoom(code: string, credentials: Credentials | null, handoffs: HandoffSlot | null = null): Room {
  const [view, dispatch] = useReducer(reduceView, null);
  const [client, setClient] = useState<CellarClient | null>(null);
  const [fatal, setFatal] = useState<Fatal | null>(null);
  const connection = useConnection(client);
  const rejoinRef = useRef<() => Promise<void>>(async () => {});
  const credentialKey = credentials === null ? "" : credentials.role === "host" ? `host:${credentials.hostId}:${credentials.hostKey}` : `p:${credentials.rejoinToken}`;

  useEffect(() => {
    if (credentials === null) return;
    setFatal(null);
    const handoff = credentials.role === "participant" ? (handoffs?.take(code, credentials.rejoinToken) ?? null) : null;
    const room = handoff?.client ?? newClient(code);
    let identified = handoff !== null;
    let rejoining: Promise<void> | null = null;
    let disposed = false;
    if (handoff) dispatch({ type: "snapshot", snapshot: handoff.snapshot, at: performance.now() });

    const rejoin = (): Promise<void> => {
      rejoining ??= (async () => {
        try {
          const snapshot =
            credentials.role === "host"
              ? await room.request("rejoin_host", { hostId: credentials.hostId, hostKey: credentials.hostKey })
              : await room.request("rejoin_session", { rejoinToken: credentials.rejoinToken });
          identified = true;
          if (!disposed) dispatch({ type: "snapshot", snapshot: snapshot as Snapshot, at: performance.now() });
        } catch (error) {
          identified = false;
          const { code: errorCode, message } = describeError(error);
          if (!disposed && FATAL_CODES.has(errorCode)) setFatal({ code: errorCode, message });
          // A dropped connection is retried by the next open; a slow answer on an open one, here.
          else if (!disposed && errorCode === "TIMEOUT") setTimeout(() => !disposed && !identified && void rejoin(), RETRY_REJOIN_MS);
        } finally {
          rejoining = null;
        }
      })();
      return rejoining;
    };
    rejoinRef.current = rejoin;

    for (const event of SERVER_EVENT_NAMES) {
      room.on(event, (data: unknown) => dispatch({ type: "event", event, data, at: performance.now() } as ViewAction));
    }
    room.on("$resynced", () => void rejoin());
    // A resumed session replays what was missed; it needs a rejoin only if the last one never finished.
    room.on("$resumed", () => {
      if (!identified) void rejoin();
    });
    room.on("$close", ({ code: closeCode, reason, final }: { code: number; reason: string; final: boolean }) => {
      if (final && !disposed) setFatal(closeError(closeCode, reason));
    });
    if (!identified) void rejoin();
    setClient(room);
    return () => {
      disposed = true;
      room.close();
    };
    // credentialKey stands for credentials, a new object each render.
  }, [code, credentialKey, handoffs]);

  const request = useCallback<Requester>(
    async (event, data) => {
      if (!client) throw Object.assign(new Error("Not connected yet"), { code: "CONNECTION_CLOSED" });
      try {
        return await client.request(event, data);
      } catch (error) {
        const { code: errorCode } = describeError(error);
        if (errorCode !== "NOT_HOST" && errorCode !== "NOT_JOINED") throw error;
        await rejoinRef.current();
        return await client.request(event, data);
      }
    },
    [client],
  ) as Requester;

  const refresh = useCallback(() => rejoinRef.current(), []);

  return { view, client, connection, fatal, request, refresh };
}

/** The slot shared by the join form and the game screen. */
export function useHandoffs(): HandoffSlot | null {
  return useContext(HandoffContext);
}
