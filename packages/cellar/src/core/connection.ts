import { TokenBucket } from "./rate-limiter.js";

/** What a host gives the core for one socket. */
export interface SocketPort {
  send(frame: string): void;
  close(code: number, reason: string): void;
  /**
   * The record's id, meta, user or channels changed (it opened, resumed, joined or left a
   * channel): a host that keeps them outside memory (Cloudflare's socket attachments) saves them.
   */
  changed?(): void;
}

/**
 * `detached`: the socket went away but the session may still resume (within the resume
 * window); frames addressed to it go to the replay log only.
 */
export type ConnectionPhase = "handshake" | "connecting" | "open" | "closed" | "detached";

/**
 * Internal: one client connection as the host keeps it. It lives as long as the socket, not
 * as long as the room instance, so it is what survives hibernation: id, meta, user and
 * channels stay attached while the room's object is gone. Kept small on purpose, since an
 * idle connection should cost little more than its socket.
 */
export class ConnectionRecord {
  phase: ConnectionPhase = "handshake";
  /** The session id; a resumed connection takes over the id of the session it resumes. */
  id: string;
  /** The client can resume this session (its token was sent in `welcome`). */
  resumable = false;
  /** Set when a resume took the session over, or the room or the client ended it. */
  ended: "replaced" | "closed" | undefined = undefined;
  meta: Readonly<Record<string, unknown>> = EMPTY_META;
  userId: string | undefined = undefined;
  /** Created on first `join`: most connections never join a channel. */
  channels: Set<string> | undefined = undefined;
  /** Frames refused in a row by the rate limiter; reset by the next accepted frame. */
  refusedInARow = 0;

  constructor(
    id: string,
    readonly port: SocketPort,
    readonly bucket: TokenBucket,
  ) {
    this.id = id;
  }

  send(frame: string): void {
    if (this.phase !== "closed" && this.phase !== "detached") this.port.send(frame);
  }

  inChannel(channel: string): boolean {
    return this.channels?.has(channel) ?? false;
  }
}

const EMPTY_META: Readonly<Record<string, unknown>> = Object.freeze({});

const NO_SOCKET: SocketPort = { send() {}, close() {} };
const NO_BUCKET = new TokenBucket(1, 1, 0);

/** A session whose socket went away, kept for the resume window. */
export class DetachedSession extends ConnectionRecord {
  constructor(
    from: { id: string; meta: Readonly<Record<string, unknown>>; userId: string | undefined; channels: Set<string> | undefined },
    /** When its socket went away. */
    readonly detachedAt: number,
  ) {
    super(from.id, NO_SOCKET, NO_BUCKET);
    this.phase = "detached";
    this.resumable = true;
    this.meta = from.meta;
    this.userId = from.userId;
    this.channels = from.channels;
  }
}

/** Channels as stored with a session: a JSON array, or null for none. */
export function encodeChannels(channels: ReadonlySet<string> | undefined): string | null {
  return channels && channels.size > 0 ? JSON.stringify([...channels]) : null;
}

export function decodeChannels(text: string | null): Set<string> | undefined {
  if (text === null) return undefined;
  const list = JSON.parse(text) as string[];
  return list.length > 0 ? new Set(list) : undefined;
}

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
  record.port.changed?.();
}

export function leaveChannel(record: ConnectionRecord, channel: string): void {
  record.channels?.delete(channel);
  if (record.channels?.size === 0) record.channels = undefined;
  record.port.changed?.();
}
