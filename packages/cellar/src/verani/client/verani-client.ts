/*
 * Verani's client API over `CellarClient`: same reconnects, offline queue and resume with
 * replay; only the names and a few options differ (see docs/verani.md).
 */
import { CellarClient, type ClientOptions, type ClientState } from "../../client/client.js";

/** Verani's reconnection options (`maxAttempts: 0` means no limit). */
export interface ReconnectionConfig {
  enabled: boolean;
  maxAttempts: number;
  initialDelay: number;
  maxDelay: number;
  backoffMultiplier: number;
}

export interface VeraniClientOptions extends Pick<ClientOptions, "WebSocket" | "params" | "sessionStore"> {
  reconnection?: Partial<ReconnectionConfig>;
  maxQueueSize?: number;
  /** Per attempt, until the server's handshake completes (ms). */
  connectionTimeout?: number;
  /** A ping this often; a connection silent until the next one is replaced (0: off). */
  pingInterval?: number;
  /** Accepted for compatibility; Cellar's ping gives a silent connection one interval instead. */
  pongTimeout?: number;
}

export type ConnectionState = "connecting" | "connected" | "disconnected" | "reconnecting" | "error";

type Callback = (data: any) => void;

const STATES: Record<ClientState, ConnectionState> = {
  connecting: "connecting",
  open: "connected",
  reconnecting: "reconnecting",
  closed: "disconnected",
};

/**
 * Verani's `VeraniClient` on Cellar's protocol. On Node 20 pass `{ WebSocket }` from `ws`.
 *
 * @example
 * const client = new VeraniClient("ws://localhost:8787/ws/counter", { WebSocket });
 * client.on("counter:update", ({ count }) => render(count));
 * await client.waitForConnection();
 * client.emit("counter:increment", { amount: 1 });
 */
export class VeraniClient {
  /** The Cellar client underneath, for what Verani has no name for (`request`, `$resumed`…). */
  readonly cellar: CellarClient;

  constructor(url: string, options: VeraniClientOptions = {}) {
    this.cellar = new CellarClient(url, cellarOptions(options));
  }

  on(event: string, callback: Callback): void {
    this.cellar.on(event, callback);
  }

  off(event: string, callback: Callback): void {
    this.cellar.off(event, callback);
  }

  once(event: string, callback: Callback): void {
    this.cellar.once(event, callback);
  }

  /** Sends an event; while offline it is queued and sent in order once connected. */
  emit(type: string, data?: unknown): void {
    this.cellar.emit(type, data);
  }

  /** Resolves once connected; rejects if the client is closed first (it has no timeout of its own). */
  waitForConnection(): Promise<void> {
    return this.cellar.waitForConnection();
  }

  getState(): ConnectionState {
    return STATES[this.cellar.state];
  }

  isConnected(): boolean {
    return this.cellar.state === "open";
  }

  get isConnecting(): boolean {
    return this.cellar.state === "connecting" || this.cellar.state === "reconnecting";
  }

  onOpen(callback: () => void): void {
    this.cellar.on("$state", (state: ClientState) => state === "open" && callback());
  }

  onClose(callback: (event: { code: number; reason: string }) => void): void {
    this.cellar.on("$close", ({ code, reason }: { code: number; reason: string }) => callback({ code, reason }));
  }

  onStateChange(callback: (state: ConnectionState) => void): void {
    this.cellar.on("$state", (state: ClientState) => callback(STATES[state]));
  }

  /** Closes for good, without reconnecting; the server ends the session. */
  disconnect(): void {
    this.cellar.close();
  }

  /** As `disconnect`: the Cellar client keeps nothing else to clean up. */
  close(): void {
    this.cellar.close();
  }
}

function cellarOptions(options: VeraniClientOptions): ClientOptions {
  const r = options.reconnection;
  const out: ClientOptions = {};
  if (options.WebSocket) out.WebSocket = options.WebSocket;
  if (options.params) out.params = options.params;
  if (options.sessionStore) out.sessionStore = options.sessionStore;
  if (options.maxQueueSize !== undefined) out.maxQueueSize = options.maxQueueSize;
  if (options.connectionTimeout !== undefined) out.connectTimeoutMs = options.connectionTimeout;
  if (options.pingInterval !== undefined) out.pingIntervalMs = options.pingInterval;
  if (r?.enabled === false) out.reconnect = false;
  else if (r) {
    out.reconnect = {
      ...(r.initialDelay !== undefined && { initialDelayMs: r.initialDelay }),
      ...(r.maxDelay !== undefined && { maxDelayMs: r.maxDelay }),
      ...(r.backoffMultiplier !== undefined && { multiplier: r.backoffMultiplier }),
      ...(r.maxAttempts !== undefined && { maxAttempts: r.maxAttempts === 0 ? Infinity : r.maxAttempts }),
    };
  }
  return out;
}
