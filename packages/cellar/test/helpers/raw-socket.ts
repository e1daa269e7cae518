/**
 * Test helper: a bare `ws` socket that speaks the wire protocol by hand, so tests can send
 * frames no well-behaved client would. Every wait is on an event, bounded by a guard
 * timeout that fails the test with what was received instead of hanging it.
 */
import { afterEach, expect } from "vitest";
import { WebSocket } from "ws";
import { startTestServer, type TestServer, type TestServerOptions } from "cellar/testing";

export interface Frame {
  t: string;
  id?: number;
  event?: string;
  code?: string;
  message?: string;
  data?: unknown;
  [key: string]: unknown;
}

export interface Closed {
  code: number;
  reason: string;
}

const GUARD_MS = 5_000;

/** Texts planted in hooks and handlers (and a typical TypeError's) that must never reach a client. */
export const SECRETS = ["secret internal detail", "hunter2", "internal fuzz secret", "Cannot read properties"];

export class RawSocket {
  /** Every frame received, in order. */
  readonly received: Frame[] = [];
  readonly #closed: Promise<Closed>;
  #read = 0;
  #wake: (() => void) | undefined;
  #isClosed = false;
  #nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const text = data.toString();
      let frame: Frame;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        frame = { t: "<not json>", raw: text, isBinary };
      }
      this.received.push(frame);
      this.#wake?.();
    });
    this.#closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        this.#isClosed = true;
        this.#wake?.();
        resolve({ code, reason: reason.toString() });
      });
    });
    ws.on("error", () => {}); // the close event follows
  }

  /** Opens a socket without sending hello (with these request headers, if any). */
  static async open(url: string, origin?: string, headers?: Record<string, string>): Promise<RawSocket> {
    const ws = new WebSocket(url, { ...(origin === undefined ? {} : { origin }), ...(headers ? { headers } : {}) });
    const socket = new RawSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
    return socket;
  }

  /** Opens a socket and completes the handshake. */
  static async connect(url: string, params: Record<string, unknown> = {}): Promise<RawSocket> {
    const socket = await RawSocket.open(url);
    socket.send({ t: "hello", v: 1, params });
    const welcome = await socket.next();
    expect(welcome).toMatchObject({ t: "welcome", v: 1, resumed: false });
    return socket;
  }

  /** Sends an object as JSON, or a string exactly as given. */
  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  sendBinary(bytes: Uint8Array): void {
    this.ws.send(bytes, { binary: true });
  }

  /** The next frame not read yet. */
  async next(): Promise<Frame> {
    await this.#until(() => this.received.length > this.#read, "a frame", true);
    return this.received[this.#read++]!;
  }

  /** Sends a request with a fresh id and returns the answer to it (ack or error). */
  async request(event: string, data?: unknown): Promise<Frame> {
    const id = this.#nextId++;
    this.send({ t: "req", id, event, data });
    return this.answerTo(id);
  }

  /** Reads frames until the ack or error carrying `id`; other frames are skipped. */
  async answerTo(id: number): Promise<Frame> {
    for (;;) {
      const frame = await this.next();
      if ((frame.t === "ack" || frame.t === "error") && frame.id === id) return frame;
    }
  }

  /** Waits for the close (at most `guardMs`) and returns its code and reason. */
  async closeEvent(guardMs = GUARD_MS): Promise<Closed> {
    await this.#until(() => this.#isClosed, "the close", false, guardMs);
    return this.#closed;
  }

  close(): void {
    if (!this.#isClosed) this.ws.terminate();
  }

  async #until(ready: () => boolean, what: string, failIfClosed: boolean, guardMs = GUARD_MS): Promise<void> {
    const deadline = Date.now() + guardMs;
    while (!ready()) {
      if (failIfClosed && this.#isClosed) throw new Error(`socket closed while waiting for ${what}; got ${JSON.stringify(this.received)}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no ${what} within ${guardMs} ms; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const guard = setTimeout(resolve, remaining);
        this.#wake = () => {
          clearTimeout(guard);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}

/** Closes the sockets and forgets them; returns every frame they received, to check for leaks. */
export function closeSockets(sockets: RawSocket[]): Frame[] {
  const all = sockets.splice(0);
  for (const socket of all) socket.close();
  return all.flatMap((socket) => socket.received);
}

/** The HTTP answer to an upgrade that the server refuses (or 101 if it accepts it). */
export function upgradeAnswer(url: string, origin?: string): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(url, origin === undefined ? {} : { origin });
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.terminate();
      resolve({ status: 101, body: "" });
    });
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
        ws.terminate();
      });
    });
    ws.on("error", reject); // a no-op once resolved
  });
}

/**
 * Checks an error frame: the expected code, a readable message, and nothing a client must
 * not see (a stack trace, the text of an internal exception).
 */
export function expectSafeError(frame: Frame, code: string, context: { id?: number; event?: string } = {}): void {
  expect(frame).toMatchObject({ t: "error", code, ...context });
  if (context.id === undefined) expect(frame.id).toBeUndefined();
  expectNoLeak(frame);
}

/** No stack trace, no internal exception text, no fields beyond the documented ones. */
export function expectNoLeak(frame: Frame): void {
  if (frame.t !== "error") return;
  expect(Object.keys(frame).every((key) => ["t", "id", "event", "code", "message"].includes(key))).toBe(true);
  expect(typeof frame.message).toBe("string");
  expect(frame.message).not.toMatch(/\n\s*at |\bat .+:\d+:\d+|node:internal|\.ts:\d+/);
  for (const secret of SECRETS) expect(frame.message).not.toContain(secret);
}

/**
 * The server and raw sockets of a test file. `start` starts this test's server; after each
 * test the sockets and the server are closed and every frame the sockets received is checked
 * for leaked internals.
 */
export function useCheckedServer(base: TestServerOptions) {
  const sockets: RawSocket[] = [];
  let current: TestServer | undefined;
  afterEach(async () => {
    const received = closeSockets(sockets);
    await current?.close();
    current = undefined;
    for (const frame of received) expectNoLeak(frame);
  });
  return {
    sockets,
    async start(options: Partial<TestServerOptions> = {}): Promise<TestServer> {
      current = await startTestServer({ ...base, ...options });
      return current;
    },
    /** This test's server. */
    get current(): TestServer {
      if (!current) throw new Error("start() the server first");
      return current;
    },
  };
}
