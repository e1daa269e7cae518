import type { ConnectionRecord } from "./connection.js";
import { cellarError } from "./errors.js";
import { eventFrame, withSeq } from "./protocol.js";

export interface EmitOptions {
  /** A frame that needs no replay after a reconnect (timer ticks, cursors). */
  volatile?: boolean;
}

export interface BroadcastOptions extends EmitOptions {
  /** Connection id(s) left out. */
  except?: string | readonly string[];
}

export interface EmitTarget {
  emit(event: string, data?: unknown, options?: EmitOptions): void;
}

/**
 * `ctx.emit`. Nothing is sent while the handler runs: frames wait in the handler's outbox
 * and leave only once every write the handler made has committed (the output gate).
 *
 * @example
 * ctx.emit.broadcast("chat:message", { text }, { except: ctx.connection.id });
 * ctx.emit.to("admins").emit("chat:flagged", { id });
 */
export interface Emitter {
  /** To the connection that sent the event. */
  reply(event: string, data?: unknown, options?: EmitOptions): void;
  /** To every connection in `channel`. */
  to(channel: string): EmitTarget;
  toConnection(connectionId: string): EmitTarget;
  /** To every connection of that user. */
  toUser(userId: string): EmitTarget;
  broadcast(event: string, data?: unknown, options?: BroadcastOptions): void;
}

/**
 * Internal: what a handler asked to send, in order. A frame with a `seq` goes to the replay
 * log too, addressed as `to` says (see `LogRecord`).
 */
export type OutboxItem =
  | { kind: "frame"; frame: string; targets: readonly ConnectionRecord[]; seq?: number; to?: string | null }
  | { kind: "close"; target: ConnectionRecord; code: number; reason: string };

/** Gives frames their sequence numbers; undefined when the room keeps no replay log. */
export type Sequencer = (() => number) | undefined;

export function encodeEvent(event: string, data: unknown): string {
  if (typeof event !== "string" || event.length === 0) {
    throw cellarError("INVALID_ARGUMENT", "An emitted event needs a non-empty string name");
  }
  try {
    return eventFrame(event, data);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw cellarError("INVALID_ARGUMENT", `Cannot send data of "${event}" as JSON: ${reason}`, { cause: error });
  }
}

/**
 * Internal: builds `ctx.emit` writing into `outbox`. Sessions that went away but may resume
 * are addressed like open connections: their frames reach them through the replay log.
 */
export function createEmitter(
  outbox: OutboxItem[],
  sender: ConnectionRecord | undefined,
  connections: () => Iterable<ConnectionRecord>,
  beforePush: () => void = () => {},
  sequencer: Sequencer = undefined,
): Emitter {
  const push = (event: string, data: unknown, options: EmitOptions | undefined, targets: ConnectionRecord[], to?: string | null): void => {
    beforePush();
    // Encoded even without targets (bad data is an error either way), and before a number
    // is taken, so a value that cannot be sent takes none.
    const frame = encodeEvent(event, data);
    if (targets.length === 0) return;
    if (sequencer === undefined || options?.volatile === true) {
      outbox.push({ kind: "frame", frame, targets });
      return;
    }
    const seq = sequencer();
    outbox.push({ kind: "frame", frame: withSeq(frame, seq), targets, seq, to: to === undefined ? `+${targets.map((c) => c.id).join(",")}` : to });
  };
  const select = (keep: (c: ConnectionRecord) => boolean): ConnectionRecord[] => {
    const targets: ConnectionRecord[] = [];
    for (const c of connections()) if ((c.phase === "open" || c.phase === "detached") && keep(c)) targets.push(c);
    return targets;
  };
  const target = (keep: (c: ConnectionRecord) => boolean): EmitTarget => ({
    emit: (event, data, options) => push(event, data, options, select(keep)),
  });
  return {
    reply(event, data, options) {
      if (!sender) throw cellarError("INVALID_ARGUMENT", "emit.reply has no connection to reply to here");
      push(event, data, options, [sender]);
    },
    to: (channel) => target((c) => c.inChannel(channel)),
    toConnection: (connectionId) => target((c) => c.id === connectionId),
    toUser: (userId) => target((c) => c.userId === userId),
    broadcast(event, data, options) {
      const except = options?.except;
      if (except === undefined) return push(event, data, options, select(() => true), null);
      const skip = typeof except === "string" ? new Set([except]) : new Set(except);
      const logged = [...skip].filter((id) => typeof id === "string" && !id.includes(","));
      push(event, data, options, select((c) => !skip.has(c.id)), `-${logged.join(",")}`);
    },
  };
}

/** Sends what an outbox holds, in order. */
export function deliver(outbox: readonly OutboxItem[]): void {
  for (const item of outbox) {
    if (item.kind === "frame") {
      for (const target of item.targets) target.send(item.frame);
    } else if (item.target.phase !== "closed") {
      // The room ended it: the session ends with the socket, no resume.
      item.target.ended = "closed";
      item.target.port.close(item.code, item.reason);
    }
  }
}
