import { ConnectionRecord, type SocketPort } from "../core/connection.js";
import { randomToken } from "../core/ids.js";
import { TokenBucket } from "../core/rate-limiter.js";
import type { ObjectStore } from "./object-store.js";

/** The platform's limit on a WebSocket attachment. */
const MAX_ATTACHMENT_BYTES = 2048;

/**
 * What a socket's attachment keeps across hibernation: what the Node host keeps in memory
 * while an instance hibernates. Meta too large for the attachment goes to the object's
 * storage (`m: 1`).
 */
interface Attachment {
  id: string;
  /** "h": waiting for hello; "o": open. */
  p: "h" | "o";
  r?: 1;
  u?: string;
  c?: string[];
  meta?: Record<string, unknown>;
  m?: 1;
}

/** The socket side of a connection on a Durable Object. */
class HibernatablePort implements SocketPort {
  record!: CfConnection;

  constructor(
    readonly ws: WebSocket,
    private readonly store: ObjectStore,
  ) {}

  send(frame: string): void {
    try {
      this.ws.send(frame);
    } catch {
      // Already closing: its close event follows.
    }
  }

  close(code: number, reason: string): void {
    try {
      this.ws.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  changed(): void {
    const c = this.record;
    const attachment: Attachment = { id: c.id, p: c.phase === "handshake" ? "h" : "o" };
    if (c.resumable) attachment.r = 1;
    if (c.userId !== undefined) attachment.u = c.userId;
    if (c.channels) attachment.c = [...c.channels];
    if (Object.keys(c.meta).length > 0) attachment.meta = c.meta;
    let text = JSON.stringify(attachment);
    if (text.length * 3 > MAX_ATTACHMENT_BYTES && new TextEncoder().encode(text).length > MAX_ATTACHMENT_BYTES) {
      this.store.putSocketMeta(c.id, JSON.stringify(c.meta));
      delete attachment.meta;
      attachment.m = 1;
      text = JSON.stringify(attachment);
      c.metaStored = true;
    }
    this.ws.serializeAttachment(attachment);
  }
}

/** Internal: a connection of the Cloudflare host: its socket, and what survives hibernation in the attachment. */
export class CfConnection extends ConnectionRecord {
  /** The upgrade request, kept until `hello` hands it to `authenticate` (lost if the object hibernates first). */
  request: Request | undefined = undefined;
  handshakeTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The meta is in `_cellar_socket_meta`, not in the attachment. */
  metaStored = false;

  private constructor(id: string, port: HibernatablePort, bucket: TokenBucket) {
    super(id, port, bucket);
    port.record = this;
  }

  /** A socket that just connected. */
  static accepted(ws: WebSocket, store: ObjectStore, bucket: TokenBucket, request: Request): CfConnection {
    const c = new CfConnection(randomToken(12), new HibernatablePort(ws, store), bucket);
    c.request = request;
    c.port.changed!();
    return c;
  }

  /** A socket that outlived the object that accepted it, rebuilt from its attachment. */
  static restored(ws: WebSocket, store: ObjectStore, bucket: TokenBucket): CfConnection | undefined {
    const a = ws.deserializeAttachment() as Attachment | null;
    if (!a || typeof a.id !== "string") return undefined;
    const c = new CfConnection(a.id, new HibernatablePort(ws, store), bucket);
    c.phase = a.p === "o" ? "open" : "handshake";
    c.resumable = a.r === 1;
    c.userId = a.u;
    if (a.c && a.c.length > 0) c.channels = new Set(a.c);
    const meta = a.m === 1 ? JSON.parse(store.socketMeta(a.id) ?? "{}") : a.meta;
    if (meta) c.meta = Object.freeze(meta);
    c.metaStored = a.m === 1;
    return c;
  }
}
