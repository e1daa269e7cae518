import { TokenBucket } from "./rate-limiter.js";

/** What a host gives the core for one socket. */
export interface SocketPort {
  send(frame: string): void;
  close(code: number, reason: string): void;
}

export type ConnectionPhase = "handshake" | "connecting" | "open" | "closed";

/**
 * Internal: one client connection as the host keeps it. It lives as long as the socket, not
 * as long as the room instance, so it is what survives hibernation: id, meta, user and
 * channels stay attached while the room's object is gone. Kept small on purpose, since an
 * idle connection should cost little more than its socket.
 */
export class ConnectionRecord {
  phase: ConnectionPhase = "handshake";
  meta: Readonly<Record<string, unknown>> = EMPTY_META;
  userId: string | undefined = undefined;
  /** Created on first `join`: most connections never join a channel. */
  channels: Set<string> | undefined = undefined;
  /** Frames refused in a row by the rate limiter; reset by the next accepted frame. */
  refusedInARow = 0;

  constructor(
    readonly id: string,
    readonly port: SocketPort,
    readonly bucket: TokenBucket,
  ) {}

  send(frame: string): void {
    if (this.phase !== "closed") this.port.send(frame);
  }

  inChannel(channel: string): boolean {
    return this.channels?.has(channel) ?? false;
  }
}

const EMPTY_META: Readonly<Record<string, unknown>> = Object.freeze({});

/** A connection as handlers see it (`ctx.connection`). */
export interface Connection<CState = Record<string, unknown>> {
  readonly id: string;
  /** What `authenticate` returned (frozen). */
  readonly meta: Readonly<Record<string, unknown>>;
  /** `meta.userId` when `authenticate` gave one: the key of per-user connection state. */
  readonly userId: string | undefined;
  readonly channels: ReadonlySet<string>;
  /** Per-connection state declared with `defineConnection`. */
  readonly state: CState;
  join(channel: string): void;
  leave(channel: string): void;
  /** Closes the connection after everything the handler emitted has been sent. */
  close(code?: number, reason?: string): void;
}

/** A connection as listed by `ctx.room.connections()`. */
export interface ConnectionInfo {
  readonly id: string;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly userId: string | undefined;
  readonly channels: ReadonlySet<string>;
}

const NO_CHANNELS: ReadonlySet<string> = new Set();

export function connectionInfo(record: ConnectionRecord): ConnectionInfo {
  return { id: record.id, meta: record.meta, userId: record.userId, channels: record.channels ?? NO_CHANNELS };
}

export function joinChannel(record: ConnectionRecord, channel: string): void {
  (record.channels ??= new Set()).add(channel);
}

export function leaveChannel(record: ConnectionRecord, channel: string): void {
  record.channels?.delete(channel);
  if (record.channels?.size === 0) record.channels = undefined;
}
