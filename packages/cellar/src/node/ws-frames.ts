import type { WebSocket } from "ws";

/*
 * Internal: how the Node host puts a server frame on a `ws` socket, encoding it once.
 *
 * A broadcast hands the same string to every recipient. `ws.send` would, for each socket,
 * measure or encode it, build a header and write both under cork/uncork (a `writev`). Here
 * the whole WebSocket frame, header and payload, is built once per frame and the same bytes
 * go to every socket's stream with one `write`. Nothing is allocated per recipient.
 *
 * That is done only where it puts on the wire exactly what `ws.send` would: the socket is
 * open (after `close()` or `terminate()` `ws` sends no more data), `ws`'s sender has nothing
 * queued ahead (it queues only while it compresses or reads a Blob, which never happens
 * here), and permessage-deflate was not negotiated (the server turns it off; a compressing
 * socket would need bytes of its own). Anything else goes through `ws.send`. Writes go
 * through the socket's stream like `ws`'s own, so order, `bufferedAmount` (backpressure)
 * and write errors (`ws` listens for the socket's `error`) are unchanged.
 *
 * This reads three private fields of ws 8 (`_socket`, `_sender`, `_extensions`); should a
 * release of `ws` lack them, every frame takes the `ws.send` path. ws-frames.test.ts
 * checks that the direct path is the one taken with the `ws` this package installs.
 */

/** The parts of a `ws` 8 WebSocket this module reads. */
interface WsInternals {
  readonly readyState: number;
  readonly _socket?: { write(chunk: Uint8Array): boolean } | null;
  readonly _sender?: { _state: number; _queue: readonly unknown[] } | null;
  readonly _extensions?: Record<string, unknown>;
}

const OPEN = 1;
/** `ws`'s sender state when it is not compressing or reading a Blob. */
const SENDER_IDLE = 0;
const TEXT = { binary: false };

/**
 * Encodes frames into WebSocket text frames, once per frame: the last frame is kept, so a
 * broadcast that reaches it for every recipient encodes it once.
 */
export class FrameEncoder {
  #text: string | undefined;
  #frame: Buffer | undefined;
  #payload: Buffer | undefined;
  #headerLength = 0;

  /** The whole frame as it goes on the wire: FIN, text opcode, unmasked (a server's frame, RFC 6455 §5.2). */
  frame(text: string): Buffer {
    if (text !== this.#text) this.#encode(text);
    return this.#frame!;
  }

  /** The payload alone (a view on the same bytes), for `ws.send`. */
  payload(text: string): Buffer {
    if (text !== this.#text) this.#encode(text);
    return (this.#payload ??= this.#frame!.subarray(this.#headerLength));
  }

  #encode(text: string): void {
    const length = Buffer.byteLength(text);
    const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(header + length);
    frame[0] = 0x81;
    if (header === 2) {
      frame[1] = length;
    } else if (header === 4) {
      frame[1] = 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 127;
      frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
      frame.writeUInt32BE(length >>> 0, 6);
    }
    frame.write(text, header);
    this.#text = text;
    this.#frame = frame;
    this.#payload = undefined;
    this.#headerLength = header;
  }
}

/** Whether frames to this socket may be written as `FrameEncoder` bytes (decided once, at the upgrade). */
export function writesDirectly(ws: WebSocket): boolean {
  const w = ws as unknown as WsInternals;
  return typeof w._socket?.write === "function" && typeof w._sender?._state === "number" && w._extensions !== undefined && !hasKeys(w._extensions);
}

function hasKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}

/**
 * Sends one text frame. `direct` is `writesDirectly(ws)`. Returns true when the frame was
 * written directly (for tests).
 */
export function sendText(ws: WebSocket, direct: boolean, encoder: FrameEncoder, text: string): boolean {
  const w = ws as unknown as WsInternals;
  if (direct && w.readyState === OPEN && w._sender!._state === SENDER_IDLE && w._sender!._queue.length === 0) {
    w._socket!.write(encoder.frame(text));
    return true;
  }
  ws.send(encoder.payload(text), TEXT);
  return false;
}
