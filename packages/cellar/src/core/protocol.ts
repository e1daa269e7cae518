import { cellarError, CellarError, type ClientError } from "./errors.js";

/*
 * The wire protocol: JSON text frames, each an object with a `t` (type) field. Described
 * for implementers in docs/protocol.md; this file is the reference both ends import.
 */

/** Version spoken by this build. A client sends it in `hello`; the server refuses others. */
export const PROTOCOL_VERSION = 1;

/** Longest event name, in UTF-16 units. */
export const MAX_EVENT_NAME_LENGTH = 128;

export interface ResumeRequest {
  token: string;
  lastSeq: number;
}

export type ClientFrame =
  | { t: "hello"; v: number; params?: Record<string, unknown>; resume?: ResumeRequest }
  | { t: "emit"; event: string; data?: unknown }
  | { t: "req"; id: number; event: string; data?: unknown }
  | { t: "ping" };

export type ServerFrame =
  | { t: "welcome"; v: number; connectionId: string; resumed: boolean; resumeToken?: string; seq?: number; replayed?: number }
  | { t: "event"; event: string; data?: unknown; seq?: number }
  | { t: "ack"; id: number; data?: unknown }
  | { t: "error"; id?: number; event?: string; code: string; message: string }
  | { t: "pong"; seq?: number };

/** Keys that could reach an object's prototype if a handler merged the payload. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Parses one text frame from a client, or throws a `CellarError` saying what is wrong. */
export function parseClientFrame(text: string): ClientFrame {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    throw cellarError("BAD_FRAME", "Frame is not valid JSON");
  }
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
    throw cellarError("BAD_FRAME", "Frame must be a JSON object");
  }
  // Scanning the text first keeps the walk off the hot path: most frames hold none of these
  // words. A key can also be spelled with JSON escapes ("\u005f_proto__"), so any escape
  // sends the frame through the walk too.
  if (text.includes("__proto__") || text.includes("constructor") || text.includes("prototype") || text.includes("\\u")) {
    const key = findForbiddenKey(frame);
    if (key !== undefined) throw cellarError("FORBIDDEN_KEY", `Key "${key}" is not allowed in a frame`);
  }
  const f = frame as Record<string, unknown>;
  switch (f.t) {
    case "emit":
      return { t: "emit", event: checkEventName(f.event), data: f.data };
    case "req":
      if (!isRequestId(f.id)) throw cellarError("BAD_FRAME", "Request id must be a non-negative integer");
      return { t: "req", id: f.id, event: checkEventName(f.event), data: f.data };
    case "ping":
      return { t: "ping" };
    case "hello":
      return parseHello(f);
    default:
      throw cellarError("BAD_FRAME", `Unknown frame type ${JSON.stringify(f.t ?? null)}`);
  }
}

function parseHello(f: Record<string, unknown>): ClientFrame {
  if (typeof f.v !== "number") throw cellarError("BAD_FRAME", "hello needs a numeric protocol version `v`");
  const hello: ClientFrame = { t: "hello", v: f.v };
  if (f.params !== undefined) {
    if (typeof f.params !== "object" || f.params === null || Array.isArray(f.params)) {
      throw cellarError("BAD_FRAME", "hello `params` must be an object");
    }
    hello.params = f.params as Record<string, unknown>;
  }
  if (f.resume !== undefined && f.resume !== null) {
    const r = f.resume as Record<string, unknown>;
    if (typeof r !== "object" || typeof r.token !== "string" || !isRequestId(r.lastSeq)) {
      throw cellarError("BAD_FRAME", "hello `resume` must be { token: string, lastSeq: integer }");
    }
    hello.resume = { token: r.token, lastSeq: r.lastSeq };
  }
  return hello;
}

function checkEventName(event: unknown): string {
  if (typeof event !== "string" || event.length === 0 || event.length > MAX_EVENT_NAME_LENGTH) {
    throw cellarError("BAD_FRAME", `Event name must be a string of 1 to ${MAX_EVENT_NAME_LENGTH} characters`);
  }
  return event;
}

function isRequestId(id: unknown): id is number {
  return typeof id === "number" && Number.isSafeInteger(id) && id >= 0;
}

/** Finds a forbidden key anywhere in a parsed JSON value, without recursion. */
export function findForbiddenKey(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== "object" || current === null) continue;
    if (Array.isArray(current)) {
      for (const item of current) stack.push(item);
      continue;
    }
    for (const key of Object.keys(current)) {
      if (FORBIDDEN_KEYS.has(key)) return key;
      stack.push((current as Record<string, unknown>)[key]);
    }
  }
  return undefined;
}

// Encoders. `JSON.stringify` drops `data: undefined`, so a handler returning nothing sends
// an ack without `data`, which clients read as undefined.

export function eventFrame(event: string, data: unknown): string {
  return JSON.stringify({ t: "event", event, data });
}

export function ackFrame(id: number, data: unknown): string {
  return JSON.stringify({ t: "ack", id, data });
}

/**
 * Adds `seq` to an encoded `event` frame, right after its type, without encoding the data
 * again: `{"t":"event","event":"x"}` → `{"t":"event","seq":9,"event":"x"}`.
 */
export function withSeq(frame: string, seq: number): string {
  const comma = frame.indexOf(",");
  return `${frame.slice(0, comma)},"seq":${seq}${frame.slice(comma)}`;
}

export function errorFrame(error: ClientError, context: { id?: number; event?: string } = {}): string {
  return JSON.stringify({ t: "error", ...context, code: error.code, message: error.message });
}

/** The ping the client sends, always this text: a host may answer it without running any code. */
export const PING_FRAME = '{"t":"ping"}';
export const PONG_FRAME = '{"t":"pong"}';

/**
 * A pong that tells the room's committed sequence number: every frame up to it addressed to
 * this connection has been sent before the pong, so a client may move its `lastSeq` there
 * (a quiet client in a busy room then resumes from a recent number).
 */
export function pongFrame(seq: number | undefined): string {
  return seq === undefined ? PONG_FRAME : `{"t":"pong","seq":${seq}}`;
}

export interface WelcomeExtra {
  /** Present when the session can be resumed: send it back in `hello.resume`. */
  resumeToken?: string;
  /** The room's sequence number when the connection opened (the replay ends there). */
  seq?: number;
  /** How many replayed frames follow the welcome. */
  replayed?: number;
}

/** Written out field by field (it is on every connect): the same text as `JSON.stringify` of the frame. */
export function welcomeFrame(connectionId: string, resumed: boolean, extra: WelcomeExtra = {}): string {
  let text = `{"t":"welcome","v":${PROTOCOL_VERSION},"connectionId":${JSON.stringify(connectionId)},"resumed":${resumed}`;
  if (extra.resumeToken !== undefined) text += `,"resumeToken":${JSON.stringify(extra.resumeToken)}`;
  if (extra.seq !== undefined) text += `,"seq":${JSON.stringify(extra.seq)}`;
  if (extra.replayed !== undefined) text += `,"replayed":${JSON.stringify(extra.replayed)}`;
  return `${text}}`;
}

/** Reads a server frame on the client; throws on anything malformed. */
export function parseServerFrame(text: string): ServerFrame {
  const frame = JSON.parse(text) as ServerFrame;
  if (typeof frame !== "object" || frame === null || typeof frame.t !== "string") {
    throw new CellarError("BAD_FRAME", "Server frame is not an object with a type");
  }
  return frame;
}
