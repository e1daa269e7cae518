import type { ConnectionRecord } from "./connection.js";
import { CLOSE_CODES } from "./error-codes.js";
import { cellarError, CellarError, toClientError } from "./errors.js";
import { errorFrame, parseClientFrame, pongFrame, PROTOCOL_VERSION, type ClientFrame } from "./protocol.js";

/** What the intake needs from its host. */
export interface IntakeHost {
  now(): number;
  /** The room's committed sequence number, when known without waking it (for `pong`). */
  committedSeq(connection: ConnectionRecord): number | undefined;
  /** Whether the connection's room kind handles `event` (or has a `"*"` handler). */
  handles(connection: ConnectionRecord, event: string): boolean;
  /** A valid handshake: queue the connect (authenticate, onConnect) in the room. */
  hello(connection: ConnectionRecord, frame: ClientFrame & { t: "hello" }): void;
  /** A valid event for an open connection: queue it in the room. */
  event(connection: ConnectionRecord, event: string, data: unknown, id: number | undefined): void;
  /** True once shutdown began: new events are refused with SHUTTING_DOWN. */
  closing(): boolean;
  /**
   * Counts a frame refused before it reached a room, by the error code its sender got
   * (RATE_LIMITED, BAD_FRAME…): for stats and metrics, never logged one by one.
   */
  refused(code: string): void;
}

/**
 * Takes one text frame from a client. Everything here runs before the room is involved:
 * malformed, hostile or excess frames are answered (or the socket closed) without waking a
 * hibernated instance, and a ping never wakes one.
 */
export function takeTextFrame(host: IntakeHost, connection: ConnectionRecord, text: string): void {
  if (!admit(host, connection, () => requestIdOf(text))) return;
  let frame: ClientFrame;
  try {
    frame = parseClientFrame(text);
  } catch (error) {
    host.refused(error instanceof CellarError ? error.code : "BAD_FRAME");
    return reject(connection, error, requestIdOf(text));
  }
  switch (frame.t) {
    case "ping":
      return connection.send(pongFrame(connection.phase === "open" ? host.committedSeq(connection) : undefined));
    case "hello":
      if (connection.phase !== "handshake") {
        host.refused("BAD_FRAME");
        return reject(connection, cellarError("BAD_FRAME", "hello was already sent"));
      }
      if (host.closing()) return closeWith(connection, cellarError("SHUTTING_DOWN", "The server is restarting; reconnect in a moment"));
      if (frame.v !== PROTOCOL_VERSION) {
        host.refused("UNSUPPORTED_VERSION");
        return closeWith(connection, cellarError("UNSUPPORTED_VERSION", `This server speaks protocol version ${PROTOCOL_VERSION}, not ${frame.v}`));
      }
      connection.phase = "connecting";
      return host.hello(connection, frame);
    case "emit":
    case "req": {
      const id = frame.t === "req" ? frame.id : undefined;
      if (connection.phase === "handshake") {
        host.refused("HANDSHAKE_REQUIRED");
        return closeWith(connection, cellarError("HANDSHAKE_REQUIRED", "Send hello before any event"));
      }
      if (host.closing()) return reject(connection, cellarError("SHUTTING_DOWN", "The server is restarting; try again after reconnecting"), id, frame.event);
      if (!host.handles(connection, frame.event)) {
        host.refused("UNKNOWN_EVENT");
        return reject(connection, cellarError("UNKNOWN_EVENT", `No handler for "${frame.event}"`), id, frame.event);
      }
      return host.event(connection, frame.event, frame.data, id);
    }
  }
}

/** Takes one binary frame: the protocol has none, so it is refused. */
export function takeBinaryFrame(host: IntakeHost, connection: ConnectionRecord): void {
  if (!admit(host, connection, () => undefined)) return;
  host.refused("BINARY_NOT_SUPPORTED");
  reject(connection, cellarError("BINARY_NOT_SUPPORTED", "Binary frames are not supported; send JSON text frames"));
}

/**
 * Applies the connection's token bucket. A refused frame gets a RATE_LIMITED error (with its
 * request id, so the client's request fails at once); a connection that keeps sending while
 * refused more than `burst` times in a row is closed with 4429.
 */
function admit(host: IntakeHost, connection: ConnectionRecord, idOf: () => number | undefined): boolean {
  if (connection.bucket.take(host.now())) {
    connection.refusedInARow = 0;
    return true;
  }
  host.refused("RATE_LIMITED");
  connection.refusedInARow++;
  const error = cellarError("RATE_LIMITED", `More than ${connection.bucket.ratePerSecond} events/s; slow down`);
  if (connection.refusedInARow > connection.bucket.burst) closeWith(connection, error);
  else reject(connection, error, idOf());
  return false;
}

function reject(connection: ConnectionRecord, error: unknown, id?: number, event?: string): void {
  const clientError = toClientError(error, "BAD_FRAME", "Frame rejected");
  connection.send(errorFrame(clientError, id !== undefined ? { id } : event !== undefined ? { event } : {}));
}

function closeWith(connection: ConnectionRecord, error: CellarError): void {
  connection.send(errorFrame(error.toJSON()));
  connection.port.close(error.closeCode ?? CLOSE_CODES.BAD_HANDSHAKE, error.code);
}

/** The request id of a frame that failed validation, when it has a usable one. */
function requestIdOf(text: string): number | undefined {
  try {
    const id = (JSON.parse(text) as { id?: unknown })?.id;
    return typeof id === "number" && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
  } catch {
    return undefined;
  }
}
