import { CLOSE_CODES } from "../core/error-codes.js";
import { CellarError } from "../core/errors.js";
import { parseServerFrame, PING_FRAME, PROTOCOL_VERSION, type ServerFrame } from "../core/protocol.js";
import { backoffDelay, RECONNECT_DEFAULTS, type ReconnectOptions } from "./backoff.js";
import { resolveSessionStore, type SessionStore } from "./session-store.js";

/** The subset of the WebSocket API the client uses (browsers' and `ws`'s both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type ClientState = "connecting" | "open" | "reconnecting" | "closed";

export interface ClientOptions {
  /** WebSocket implementation; defaults to the global one (pass `ws`'s on Node 20). */
  WebSocket?: WebSocketConstructor;
  /** Sent in every handshake; the room's `authenticate` and `onConnect` read them as `ctx.params`. */
  params?: Record<string, unknown>;
  /** Reconnection after a lost connection; `false` connects once. */
  reconnect?: Partial<ReconnectOptions> | false;
  /** Most frames held while not connected (default 1,000). */
  maxQueueSize?: number;
  /** Time allowed to open the socket and complete the handshake, per attempt (default 10,000 ms). */
  connectTimeoutMs?: number;
  /** A `ping` this often finds a dead connection (default 15,000 ms; 0 turns it off). */
  pingIntervalMs?: number;
  /**
   * Where the resume token and last sequence number are kept, per URL: `"local"`
   * (`localStorage`, or a cookie when storage is blocked; the default in browsers),
   * `"memory"` (this client only; the default elsewhere), or your own store.
   */
  sessionStore?: "local" | "memory" | SessionStore;
}

export interface RequestOptions {
  /** Default 10,000 ms. */
  timeoutMs?: number;
}

type Listener = (data: any) => void;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: CellarError) => void;
  timer: ReturnType<typeof setTimeout>;
  /** The socket generation it was sent on; 0 while queued. */
  sentOn: number;
}

/** Local close codes for sockets the client gave up on (never sent by a server). */
const GAVE_UP = { TIMEOUT: 4000, SILENT: 4001 } as const;

/** Application codes (3000–4999) after which the client still reconnects. */
const RETRIED_APP_CODES: ReadonlySet<number> = new Set([
  CLOSE_CODES.HANDSHAKE_TIMEOUT,
  CLOSE_CODES.SESSION_REPLACED,
  CLOSE_CODES.RATE_LIMITED,
]);

/**
 * Whether a close code ends the client for good (see docs/protocol.md): 1000 (the room or
 * the client ended the session), handshake and auth refusals (4400, 4401, 4403), and any
 * other code a room chose when closing a connection (3000–4999).
 */
export function isFinalClose(code: number): boolean {
  return code === CLOSE_CODES.NORMAL || (code >= 3000 && code <= 4999 && !RETRIED_APP_CODES.has(code));
}

/**
 * A client of one room instance. It reconnects after a lost connection (backoff with
 * jitter), resumes its session so that it receives exactly the frames it missed, queues
 * what is sent while offline, and sends it in order once connected again.
 *
 * @example
 * const client = new CellarClient("ws://localhost:8787/rooms/counter/main", { WebSocket });
 * client.on("counter:update", ({ count }) => render(count));
 * const count = await client.request("counter:increment", { amount: 1 });
 */
export class CellarClient {
  state: ClientState = "connecting";
  /** The server's id for this session, once open (kept when the session resumes). */
  connectionId: string | undefined;
  readonly #Impl: WebSocketConstructor;
  readonly #params: Record<string, unknown>;
  readonly #reconnect: ReconnectOptions | undefined;
  readonly #maxQueue: number;
  readonly #connectTimeoutMs: number;
  readonly #pingIntervalMs: number;
  /** Undefined for `"memory"`: the session lives in this object only. */
  readonly #store: SessionStore | undefined;
  readonly #storeKey: string;
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #pending = new Map<number, Pending>();
  /** Emits and requests waiting for a connection, in order. */
  readonly #queue: Array<{ frame: string; id?: number }> = [];
  #socket: WebSocketLike | undefined;
  /** Bumped for each socket, so events of an abandoned one are ignored. */
  #generation = 0;
  #nextId = 1;
  #attempt = 0;
  #lastSeq = 0;
  #token: string | undefined;
  /** Replayed frames still to come after a resume's welcome, and where the replay ends. */
  #replayLeft = 0;
  #seqAtOpen = 0;
  /** Opened a session before (in this client or, through the store, a page before). */
  #hadSession = false;
  #lastCloseCode = 0;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #heard = true;
  #waiters: Array<{ resolve: () => void; reject: (error: CellarError) => void }> = [];
  readonly #unlisten: Array<() => void> = [];

  constructor(
    readonly url: string,
    options: ClientOptions = {},
  ) {
    const Impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Impl) throw new CellarError("INVALID_OPTION", "No global WebSocket: pass { WebSocket } (from the ws package on Node 20)");
    this.#Impl = Impl;
    this.#params = options.params ?? {};
    this.#reconnect = options.reconnect === false ? undefined : { ...RECONNECT_DEFAULTS, ...options.reconnect };
    this.#maxQueue = options.maxQueueSize ?? 1000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#pingIntervalMs = options.pingIntervalMs ?? 15_000;
    this.#store = resolveSessionStore(options.sessionStore);
    this.#storeKey = `cellar:${url}`;
    const saved = this.#store?.get(this.#storeKey);
    if (saved) {
      this.#token = saved.token;
      this.#lastSeq = saved.lastSeq;
      this.#hadSession = true;
    }
    this.#listenToPage();
    this.#open();
  }

  // Connecting

  #open(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const generation = ++this.#generation;
    const socket = new this.#Impl(this.url);
    this.#socket = socket;
    this.#connectTimer = setTimeout(() => this.#abandon(generation, GAVE_UP.TIMEOUT, "connect timeout"), this.#connectTimeoutMs);
    socket.onopen = () => {
      if (generation !== this.#generation) return;
      const hello: Record<string, unknown> = { t: "hello", v: PROTOCOL_VERSION, params: this.#params };
      if (this.#token !== undefined) hello.resume = { token: this.#token, lastSeq: this.#lastSeq };
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = (event) => {
      if (generation !== this.#generation) return;
      this.#heard = true;
      this.#onFrame(String(event.data));
    };
    socket.onclose = (event) => {
      if (generation === this.#generation) this.#onClosed(event.code, event.reason);
    };
    socket.onerror = () => {
      // The close event follows with the code; nothing to add here.
    };
  }

  /** Gives up on a socket that is not closing by itself (no handshake, no answer to pings). */
  #abandon(generation: number, code: number, reason: string): void {
    if (generation !== this.#generation) return;
    const socket = this.#socket;
    this.#generation++; // its own close event, whenever it comes, is ignored
    try {
      socket?.close(code, reason);
    } catch {
      // Closing a socket that is still connecting may throw in some implementations.
    }
    this.#onClosed(code, reason, true);
  }

  /** A socket closed (`local`: the client gave up on it, the code is the client's own). */
  #onClosed(code: number, reason: string, local = false): void {
    clearTimeout(this.#connectTimer);
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
    this.#socket = undefined;
    this.#lastCloseCode = code;
    if (this.state === "closed") return;
    // Requests sent on this socket have an unknown fate: the room may have handled them and
    // the answer been lost. Sending them again could apply them twice.
    for (const [id, pending] of this.#pending) {
      if (pending.sentOn === 0) continue;
      this.#settle(id, pending);
      pending.reject(new CellarError("CONNECTION_LOST", "The connection was lost before the answer came; the request may or may not have been applied"));
    }
    if (code === CLOSE_CODES.SESSION_REPLACED) {
      // Another client (another tab with the same stored session) took this session over:
      // start a session of our own rather than take it back.
      this.#forgetSession();
    }
    const final = (!local && isFinalClose(code)) || this.#reconnect === undefined || this.#attempt >= this.#reconnect.maxAttempts;
    this.#fire("$close", { code, reason, final });
    if (final) return this.#shutDown(new CellarError("CONNECTION_CLOSED", `Connection closed (${code}${reason ? ` ${reason}` : ""})`));
    this.#setState("reconnecting");
    // A server restarting gracefully (1012) is back in a moment: the first retry goes at once.
    const delayMs = code === CLOSE_CODES.SERVICE_RESTART && this.#attempt === 0 ? 0 : backoffDelay(this.#reconnect!, this.#attempt);
    this.#attempt++;
    this.#fire("$retry", { attempt: this.#attempt, delayMs, code });
    this.#retryTimer = setTimeout(() => this.#open(), delayMs);
  }

  /** Retries now instead of waiting out the backoff (the page came back, the network is up). */
  #retryNow(): void {
    if (this.state !== "reconnecting" || this.#retryTimer === undefined) return;
    this.#open();
  }

  #listenToPage(): void {
    const g = globalThis as { addEventListener?: Function; removeEventListener?: Function; document?: any };
    if (typeof g.addEventListener !== "function") return;
    const online = () => this.#retryNow();
    const visible = () => {
      if (g.document?.visibilityState !== "visible") return;
      if (this.state === "reconnecting") return this.#retryNow();
      // After a sleep the socket may be dead without knowing it: a ping finds out quickly.
      if (this.state === "open") this.#probe(Math.min(5000, this.#pingIntervalMs || 5000));
    };
    g.addEventListener("online", online);
    g.document?.addEventListener?.("visibilitychange", visible);
    this.#unlisten.push(() => {
      g.removeEventListener?.("online", online);
      g.document?.removeEventListener?.("visibilitychange", visible);
    });
  }

  /** Sends a ping and gives up on the socket if nothing arrives within `withinMs`. */
  #probe(withinMs: number): void {
    const generation = this.#generation;
    this.#heard = false;
    this.#socket?.send(PING_FRAME);
    setTimeout(() => {
      if (!this.#heard) this.#abandon(generation, GAVE_UP.SILENT, "no answer to ping");
    }, withinMs);
  }

  // Frames from the server

  #onFrame(text: string): void {
    let frame: ServerFrame;
    try {
      frame = parseServerFrame(text);
    } catch {
      return;
    }
    switch (frame.t) {
      case "welcome":
        return this.#onWelcome(frame);
      case "event":
        if (!this.#sequenced(frame.seq)) return;
        return this.#fire(frame.event, frame.data);
      case "ack": {
        const pending = this.#pending.get(frame.id);
        if (!pending || pending.sentOn !== this.#generation) return;
        this.#settle(frame.id, pending);
        return pending.resolve(frame.data);
      }
      case "error": {
        const error = new CellarError(frame.code, frame.message);
        const pending = frame.id === undefined ? undefined : this.#pending.get(frame.id);
        if (pending && pending.sentOn === this.#generation) {
          this.#settle(frame.id!, pending);
          return pending.reject(error);
        }
        return this.#fire("$error", error);
      }
      case "pong":
        // Everything up to the room's committed number that was for us has arrived.
        if (frame.seq !== undefined && this.#replayLeft === 0 && frame.seq > this.#lastSeq) {
          this.#lastSeq = frame.seq;
          this.#save();
        }
        return this.#fire("$pong", undefined);
    }
  }

  #onWelcome(frame: ServerFrame & { t: "welcome" }): void {
    clearTimeout(this.#connectTimer);
    const asked = this.#hadSession;
    this.connectionId = frame.connectionId;
    this.#attempt = 0;
    if (frame.resumed) {
      this.#replayLeft = frame.replayed ?? 0;
    } else {
      this.#replayLeft = 0;
      this.#lastSeq = frame.seq ?? 0;
    }
    this.#seqAtOpen = frame.seq ?? 0;
    this.#token = frame.resumeToken;
    this.#hadSession = true;
    if (this.#token === undefined) this.#forgetSession(); // the server keeps no sessions
    else this.#save();
    this.#startPings();
    this.#setState("open");
    if (frame.resumed) this.#fire("$resumed", { replayed: this.#replayLeft });
    else if (asked) this.#fire("$resynced", { code: this.#lastCloseCode });
    if (this.#replayLeft === 0) this.#afterReplay();
    // What was queued while offline goes now, in order (the room handles it after the resume).
    for (const item of this.#queue.splice(0)) {
      const pending = item.id === undefined ? undefined : this.#pending.get(item.id);
      if (item.id !== undefined && !pending) continue; // timed out while queued
      if (pending) pending.sentOn = this.#generation;
      this.#socket!.send(item.frame);
    }
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }

  /** Tracks sequence numbers and the replay after a resume; false for a frame already seen. */
  #sequenced(seq: number | undefined): boolean {
    if (seq === undefined) return true;
    const fresh = seq > this.#lastSeq;
    if (fresh) {
      this.#lastSeq = seq;
      this.#save();
    }
    // After this frame's listeners ran, not before.
    if (this.#replayLeft > 0 && --this.#replayLeft === 0) this.#afterReplay();
    return fresh;
  }

  /** The replay is over: frames up to the welcome's number were either replayed or not for us. */
  #afterReplay(): void {
    if (this.#lastSeq < this.#seqAtOpen) {
      this.#lastSeq = this.#seqAtOpen;
      this.#save();
    }
  }

  #startPings(): void {
    clearInterval(this.#pingTimer);
    if (this.#pingIntervalMs <= 0) return;
    this.#heard = true;
    const generation = this.#generation;
    this.#pingTimer = setInterval(() => {
      if (!this.#heard) return this.#abandon(generation, GAVE_UP.SILENT, "no answer to ping");
      this.#heard = false;
      this.#socket?.send(PING_FRAME);
    }, this.#pingIntervalMs);
  }

  // Session store

  #save(): void {
    if (this.#token === undefined || !this.#store) return;
    try {
      this.#store.set(this.#storeKey, { token: this.#token, lastSeq: this.#lastSeq });
    } catch {
      // A full or blocked store only costs the resume after a reload.
    }
  }

  #forgetSession(): void {
    this.#token = undefined;
    try {
      this.#store?.delete(this.#storeKey);
    } catch {
      // As above.
    }
  }

  // Shared plumbing

  #settle(id: number, pending: Pending): void {
    clearTimeout(pending.timer);
    this.#pending.delete(id);
  }

  #shutDown(error: CellarError): void {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#connectTimer);
    clearInterval(this.#pingTimer);
    for (const unlisten of this.#unlisten.splice(0)) unlisten();
    for (const [id, pending] of this.#pending) {
      this.#settle(id, pending);
      pending.reject(error);
    }
    this.#queue.length = 0;
    this.#setState("closed");
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  #setState(state: ClientState): void {
    if (this.state === state) return;
    this.state = state;
    this.#fire("$state", state);
  }

  #fire(event: string, data: unknown): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        listener(data);
      } catch (error) {
        // A failing listener must not break the connection; report it like an uncaught error.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #send(frame: string, id?: number): void {
    if (this.state === "closed") throw new CellarError("CONNECTION_CLOSED", "The client is closed");
    if (this.state === "open") {
      const pending = id === undefined ? undefined : this.#pending.get(id);
      if (pending) pending.sentOn = this.#generation;
      return this.#socket!.send(frame);
    }
    if (this.#queue.length >= this.#maxQueue) throw new CellarError("QUEUE_FULL", `More than ${this.#maxQueue} frames waiting to be sent`);
    this.#queue.push(id === undefined ? { frame } : { frame, id });
  }

  // Public API

  on(event: string, listener: Listener): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  off(event: string, listener: Listener): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  once(event: string, listener: Listener): this {
    const wrapped: Listener = (data) => {
      this.off(event, wrapped);
      listener(data);
    };
    return this.on(event, wrapped);
  }

  /** Sends an event without waiting for an answer; queued while offline and sent in order. */
  emit(event: string, data?: unknown): void {
    this.#send(JSON.stringify({ t: "emit", event, data }));
  }

  /**
   * Sends an event and resolves with the handler's return value, or rejects with a
   * `CellarError` (the server's code, `TIMEOUT`, or `CONNECTION_LOST` when the connection
   * dropped after it was sent, before its answer: it may or may not have been applied).
   */
  request<T = unknown>(event: string, data?: unknown, options: RequestOptions = {}): Promise<T> {
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const frame = JSON.stringify({ t: "req", id, event, data });
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new CellarError("TIMEOUT", `No answer to "${event}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer, sentOn: 0 });
      try {
        this.#send(frame, id);
      } catch (error) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(error);
      }
    });
  }

  /** Resolves once connected (now, or after the current attempt); rejects if the client closes first. */
  waitForConnection(): Promise<void> {
    if (this.state === "open") return Promise.resolve();
    if (this.state === "closed") return Promise.reject(new CellarError("CONNECTION_CLOSED", "The client is closed"));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** The last sequence number received (what a resume asks to continue from). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Sends a raw text frame on the current socket (tests of the protocol use it). */
  sendRaw(text: string): void {
    this.#socket?.send(text);
  }

  /** Closes for good: the server ends the session (no resume), the stored session is dropped. */
  close(code: number = CLOSE_CODES.NORMAL, reason = ""): void {
    if (this.state === "closed") return;
    const socket = this.#socket;
    this.#generation++;
    this.#forgetSession();
    this.#shutDown(new CellarError("CONNECTION_CLOSED", "The client was closed"));
    try {
      socket?.close(code, reason);
    } catch {
      // A socket still connecting may refuse to close in some implementations.
    }
  }
}
