import type { RawData, WebSocket } from "ws";
import { ConnectionRecord } from "../core/connection.js";
import type { UpgradeRequest } from "../core/instance.js";
import { CLOSE_CODES } from "../core/error-codes.js";
import { cellarError } from "../core/errors.js";
import { takeBinaryFrame, takeTextFrame, type IntakeHost } from "../core/intake.js";
import { errorFrame } from "../core/protocol.js";
import { TokenBucket } from "../core/rate-limiter.js";
import { wsRefusalCode, type RefusedFrames } from "./refused-frames.js";
import type { Rooms, RoomSlot } from "./rooms.js";
import { quietEnds } from "./quiet-end.js";
import { TokenPool } from "./token-pool.js";
import { FrameEncoder, sendText, writesDirectly } from "./ws-frames.js";

/**
 * Bytes a socket may have waiting to be sent before it is cut off: a client that reads
 * slower than its room talks would otherwise hold ever more server memory.
 */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** The socket side of a connection: a class, not closures, to keep idle connections small. */
class WsPort {
  /** Frames may be written as prebuilt bytes (see ws-frames.ts). */
  private readonly direct: boolean;

  constructor(
    private readonly ws: WebSocket,
    private readonly encoder: FrameEncoder,
  ) {
    this.direct = writesDirectly(ws);
  }

  send(frame: string): void {
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.ws.terminate();
      return;
    }
    sendText(this.ws, this.direct, this.encoder, frame);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
}

/** The connection a socket belongs to, kept on the socket for the listeners all sockets share. */
const CONNECTION = Symbol("cellar.connection");
type OwnedSocket = WebSocket & { [CONNECTION]: NodeConnection };

function connectionOf(ws: WebSocket): NodeConnection {
  return (ws as OwnedSocket)[CONNECTION];
}

function onPong(this: WebSocket): void {
  connectionOf(this).alive = true;
}

/** Internal: a connection of the Node host, with its socket and room. */
export class NodeConnection extends ConnectionRecord {
  /** The upgrade request, kept until `hello` hands it to `authenticate`. */
  request: UpgradeRequest | undefined;
  /** Answered the last heartbeat ping (or sent something since). */
  alive = true;
  /** When the hello is due, while the socket waits for it (see `Sockets`). */
  helloDue = 0;

  constructor(
    readonly ws: WebSocket,
    readonly slot: RoomSlot,
    request: UpgradeRequest,
    bucket: TokenBucket,
    encoder: FrameEncoder,
    id: string,
  ) {
    super(id, new WsPort(ws, encoder), bucket);
    this.request = request;
  }
}

export interface SocketsOptions {
  rooms: Rooms;
  eventsPerSecond: number;
  burst: number;
  handshakeTimeoutMs: number;
  now: () => number;
  closing: () => boolean;
  counters: RefusedFrames;
}

/**
 * Internal: wires `ws` sockets to the core. Frames go through the intake (rate limit,
 * parse, handshake rules); valid ones become tasks in the instance's queue.
 */
export class Sockets {
  readonly #o: SocketsOptions;
  readonly #intake: IntakeHost;
  readonly all = new Set<NodeConnection>();
  readonly #encoder = new FrameEncoder();
  /** Connection ids. */
  readonly #tokens = new TokenPool();
  /**
   * Sockets waiting for their hello, in the order they opened (so by when it is due). One
   * timer checks them instead of one timer per socket: a socket that says nothing is closed
   * between `handshakeTimeoutMs` and a quarter of it (at most 1 s) later.
   */
  readonly #awaitingHello = new Set<NodeConnection>();
  #helloTimer: NodeJS.Timeout | undefined;
  readonly #onMessage: (this: WebSocket, data: RawData, isBinary: boolean) => void;
  readonly #onError: (error: Error & { code?: string }) => void;
  readonly #onClose: (this: WebSocket, code: number, reason: Buffer) => void;

  constructor(options: SocketsOptions) {
    this.#o = options;
    const { rooms } = options;
    this.#intake = {
      now: options.now,
      closing: options.closing,
      committedSeq: (connection) => {
        const slot = (connection as NodeConnection).slot;
        return slot.instance ? slot.instance.gate.committedSeq : slot.committedSeq;
      },
      handles: (connection, event) => (connection as NodeConnection).slot.def.handlerFor(event) !== undefined,
      hello: (connection, frame) => {
        const c = connection as NodeConnection;
        this.#awaitingHello.delete(c);
        const request = c.request!;
        c.request = undefined;
        rooms.dispatch(c.slot, { type: "connect", connection: c, request, params: frame.params ?? {}, resume: frame.resume });
      },
      event: (connection, event, data, id) => {
        const c = connection as NodeConnection;
        rooms.dispatch(c.slot, { type: "event", connection: c, event, data, id });
      },
      refused: (code) => options.counters.add(code),
    };
    // One set of listeners for all sockets (each finds its connection on the socket), not
    // four closures per connection: cheaper to connect, and smaller while idle.
    const intake = this.#intake;
    this.#onMessage = function (this: WebSocket, data: RawData, isBinary: boolean) {
      const connection = connectionOf(this);
      connection.alive = true;
      if (isBinary) takeBinaryFrame(intake, connection);
      else takeTextFrame(intake, connection, data.toString());
    };
    this.#onError = (error: Error & { code?: string }) => {
      // ws reports protocol errors (oversized frames, bad UTF-8, bad opcodes) here, with a
      // WS_ERR_* code, and closes the socket itself with the matching code (1009, 1007,
      // 1002): those are refused frames. Network errors (a reset peer) are not.
      if (error.code?.startsWith("WS_ERR_")) options.counters.add(wsRefusalCode(error.code));
    };
    const sockets = this;
    this.#onClose = function (this: WebSocket, code: number, reason: Buffer) {
      sockets.#closed(connectionOf(this), code, reason);
    };
  }

  #closed(connection: NodeConnection, code: number, reason: Buffer): void {
    const { rooms } = this.#o;
    const slot = connection.slot;
    this.#awaitingHello.delete(connection);
    const wasOpen = connection.phase === "open";
    connection.phase = "closed";
    this.all.delete(connection);
    // A resume took the session over: the room already saw this socket go.
    if (connection.ended === "replaced") return rooms.removeConnection(slot, connection);
    // The session ends when the room or the client closed it (1000); otherwise it waits
    // for a resume (a dropped network, a restart, a page reload).
    const ended = connection.ended === "closed" || code === CLOSE_CODES.NORMAL;
    if (wasOpen && connection.resumable && !ended) rooms.detach(slot, connection);
    const def = slot.def.options;
    // Dispatch before removing: the queued task keeps the slot (and its instance) alive.
    if (wasOpen && (def.onDisconnect || def.connection || (ended && connection.resumable))) {
      rooms.dispatch(slot, { type: "disconnect", connection, code, reason: reason.toString(), ended });
    }
    rooms.removeConnection(slot, connection);
  }

  attach(ws: WebSocket, slot: RoomSlot, request: UpgradeRequest): NodeConnection {
    const o = this.#o;
    const now = o.now();
    const connection = new NodeConnection(ws, slot, request, new TokenBucket(o.eventsPerSecond, o.burst, now), this.#encoder, this.#tokens.token(12));
    this.all.add(connection);
    o.rooms.addConnection(slot, connection);
    connection.helloDue = now + o.handshakeTimeoutMs;
    this.#awaitingHello.add(connection);
    if (!this.#helloTimer) {
      this.#helloTimer = setInterval(() => this.#closeSilent(), Math.max(10, Math.min(1000, Math.ceil(o.handshakeTimeoutMs / 4))));
      this.#helloTimer.unref();
    }

    (ws as OwnedSocket)[CONNECTION] = connection;
    quietEnds(ws);
    ws.on("message", this.#onMessage);
    ws.on("pong", onPong);
    ws.on("error", this.#onError);
    ws.on("close", this.#onClose);
    return connection;
  }

  /** Closes the sockets whose hello is overdue with HANDSHAKE_TIMEOUT; the timer stops when none waits. */
  #closeSilent(): void {
    const now = this.#o.now();
    for (const connection of this.#awaitingHello) {
      if (connection.helloDue > now) break;
      this.#awaitingHello.delete(connection);
      if (connection.phase !== "handshake") continue;
      const error = cellarError("HANDSHAKE_TIMEOUT", `No hello within ${this.#o.handshakeTimeoutMs} ms`);
      connection.send(errorFrame(error.toJSON()));
      connection.ws.close(CLOSE_CODES.HANDSHAKE_TIMEOUT, error.code);
    }
    if (this.#awaitingHello.size === 0) {
      clearInterval(this.#helloTimer);
      this.#helloTimer = undefined;
    }
  }

  /** Pings every socket; one that did not answer the previous ping is cut off. */
  heartbeat(): void {
    for (const connection of this.all) {
      if (!connection.alive) {
        connection.ws.terminate();
        continue;
      }
      connection.alive = false;
      connection.ws.ping();
    }
  }

  closeAll(code: number, reason: string): void {
    for (const connection of this.all) connection.ws.close(code, reason);
  }
}
