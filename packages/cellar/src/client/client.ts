import { CellarError } from "../core/errors.js";
import { parseServerFrame, PROTOCOL_VERSION, type ServerFrame } from "../core/protocol.js";

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
  /** Sent in the handshake; the room's `authenticate` and `onConnect` read them as `ctx.params`. */
  params?: Record<string, unknown>;
  /** Most frames held while not connected (default 1,000). */
  maxQueueSize?: number;
  /** Time allowed to open the socket and complete the handshake (default 10,000 ms). */
  connectTimeoutMs?: number;
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
}

/**
 * A client of one room instance. This first version connects once; reconnection with
 * resume comes with the full client.
 *
 * @example
 * const client = new CellarClient("ws://localhost:8787/rooms/counter/main", { WebSocket });
 * client.on("counter:update", ({ count }) => render(count));
 * const count = await client.request("counter:increment", { amount: 1 });
 */
export class CellarClient {
  state: ClientState = "connecting";
  /** The server's id for this connection, once open. */
  connectionId: string | undefined;
  readonly #socket: WebSocketLike;
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #pending = new Map<number, Pending>();
  readonly #queue: string[] = [];
  readonly #maxQueue: number;
  #nextId = 1;
  #opened: Promise<void>;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly url: string,
    options: ClientOptions = {},
  ) {
    const Impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Impl) throw new CellarError("INVALID_OPTION", "No global WebSocket: pass { WebSocket } (from the ws package on Node 20)");
    this.#maxQueue = options.maxQueueSize ?? 1000;
    let resolveOpen!: () => void;
    let rejectOpen!: (error: CellarError) => void;
    this.#opened = new Promise((resolve, reject) => {
      resolveOpen = resolve;
      rejectOpen = reject;
    });
    this.#opened.catch(() => {});
    const socket = new Impl(url);
    this.#socket = socket;
    this.#connectTimer = setTimeout(() => {
      rejectOpen(new CellarError("TIMEOUT", `Not connected within ${options.connectTimeoutMs ?? 10_000} ms`));
      socket.close();
    }, options.connectTimeoutMs ?? 10_000);
    socket.onopen = () => {
      socket.send(JSON.stringify({ t: "hello", v: PROTOCOL_VERSION, params: options.params ?? {} }));
    };
    socket.onmessage = (event) => this.#onFrame(String(event.data), resolveOpen);
    socket.onclose = (event) => {
      clearTimeout(this.#connectTimer);
      const error = new CellarError("CONNECTION_CLOSED", `Connection closed (${event.code}${event.reason ? ` ${event.reason}` : ""})`);
      rejectOpen(error);
      for (const pending of this.#pending.values()) {
        clearTimeout(pending.timer);
        pending.reject(error);
      }
      this.#pending.clear();
      this.#setState("closed");
      this.#fire("$close", { code: event.code, reason: event.reason });
    };
    socket.onerror = () => {
      // The close event follows with the code; nothing to add here.
    };
  }

  #onFrame(text: string, resolveOpen: () => void): void {
    let frame: ServerFrame;
    try {
      frame = parseServerFrame(text);
    } catch {
      return;
    }
    switch (frame.t) {
      case "welcome":
        clearTimeout(this.#connectTimer);
        this.connectionId = frame.connectionId;
        this.#setState("open");
        for (const queued of this.#queue.splice(0)) this.#socket.send(queued);
        resolveOpen();
        return;
      case "event":
        return this.#fire(frame.event, frame.data);
      case "ack": {
        const pending = this.#pending.get(frame.id);
        if (!pending) return;
        this.#pending.delete(frame.id);
        clearTimeout(pending.timer);
        return pending.resolve(frame.data);
      }
      case "error": {
        const error = new CellarError(frame.code, frame.message);
        const pending = frame.id === undefined ? undefined : this.#pending.get(frame.id);
        if (pending) {
          this.#pending.delete(frame.id!);
          clearTimeout(pending.timer);
          return pending.reject(error);
        }
        return this.#fire("$error", error);
      }
      case "pong":
        return this.#fire("$pong", undefined);
    }
  }

  #setState(state: ClientState): void {
    if (this.state === state) return;
    this.state = state;
    this.#fire("$state", state);
  }

  #fire(event: string, data: unknown): void {
    for (const listener of this.#listeners.get(event) ?? []) listener(data);
  }

  #send(frame: string): void {
    if (this.state === "open") return this.#socket.send(frame);
    if (this.state === "closed") throw new CellarError("CONNECTION_CLOSED", "The client is closed");
    if (this.#queue.length >= this.#maxQueue) throw new CellarError("QUEUE_FULL", `More than ${this.#maxQueue} frames waiting to be sent`);
    this.#queue.push(frame);
  }

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

  /** Sends an event without waiting for an answer (queued while connecting). */
  emit(event: string, data?: unknown): void {
    this.#send(JSON.stringify({ t: "emit", event, data }));
  }

  /** Sends an event and resolves with the handler's return value, or rejects with a `CellarError`. */
  request<T = unknown>(event: string, data?: unknown, options: RequestOptions = {}): Promise<T> {
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new CellarError("TIMEOUT", `No answer to "${event}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      try {
        this.#send(JSON.stringify({ t: "req", id, event, data }));
      } catch (error) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(error);
      }
    });
  }

  /** Resolves once the handshake completed (rejects if the connection fails first). */
  waitForConnection(): Promise<void> {
    return this.#opened;
  }

  /** Sends a raw text frame (tests of the protocol use it). */
  sendRaw(text: string): void {
    this.#socket.send(text);
  }

  close(code = 1000, reason = ""): void {
    this.#setState("closed");
    this.#socket.close(code, reason);
  }
}
