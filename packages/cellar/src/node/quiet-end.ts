import type { Writable } from "node:stream";
import type { WebSocket } from "ws";

/*
 * Internal: a `ws` socket's close without the two errors nobody reads.
 *
 * When a client closes, `ws` 8 ends the server socket's writable side once its own close
 * frame is out, then calls the socket's `end()` again when the client's FIN arrives; it ends
 * its frame receiver (a Writable) on that FIN, then again when the socket closes. On a stream
 * that already finished (or was destroyed), Node's `end()` without arguments does nothing but
 * build an `ERR_STREAM_ALREADY_FINISHED` (or `ERR_STREAM_DESTROYED`) and drop it. Building
 * an error captures a stack trace, so every closed connection paid for two of them
 * (profiled in bench/README, "Connection churn: two errors per close"). A hand-written `ws`
 * server pays them too.
 *
 * `quietEnds` gives those two streams an `end` that returns at once in exactly that case and
 * is the stream's own `end` in every other (arguments, a callback, a stream not ended yet or
 * corked). The receiver is a private field of ws 8 (`_receiver`); without one, only the
 * socket's `end` is replaced. quiet-end.test.ts checks that ws still makes these calls, so
 * that a release of `ws` that stops making them shows up as a test to delete this module.
 */

interface WsInternals {
  readonly _socket?: Writable | null;
  readonly _receiver?: Writable | null;
}

/** Gives the socket under `ws`, and `ws`'s frame receiver, the quiet `end` (once, at the upgrade). */
export function quietEnds(ws: WebSocket): void {
  const w = ws as unknown as WsInternals;
  if (w._socket && typeof w._socket.end === "function") w._socket.end = quietEnd;
  if (w._receiver && typeof w._receiver.end === "function") w._receiver.end = quietEnd;
}

/** Whether Node's `end()` on `stream`, with no arguments, would only build an error and drop it. */
export function endIsWasted(stream: Writable): boolean {
  return stream.writableCorked === 0 && (stream.writableFinished || (stream.destroyed && stream.writableEnded));
}

function quietEnd(this: Writable, ...args: unknown[]): Writable {
  if (args.length === 0 && endIsWasted(this)) return this;
  return (Object.getPrototypeOf(this) as Writable).end.apply(this, args as Parameters<Writable["end"]>);
}
