import { once } from "node:events";
import { Duplex, Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { defineRoom } from "cellar";
import { startTestServer, type TestServer } from "cellar/testing";
import { endIsWasted, quietEnds } from "./quiet-end.js";

/** The streams under a `ws` socket that ws ends (its TCP socket, its frame receiver). */
function streamsOf(ws: WebSocket): Writable[] {
  const w = ws as unknown as { _socket: Writable; _receiver: Writable };
  return [w._socket, w._receiver];
}

/**
 * Counts `end()` calls without arguments on streams where Node's `end` would only build an
 * error and drop it (see quiet-end.ts), while `run` runs, leaving out the client's streams
 * (the client is a ws socket in this process too).
 */
async function wastedEnds(client: WebSocket, run: () => Promise<void>): Promise<number> {
  const clientStreams = new Set(streamsOf(client));
  let wasted = 0;
  const spies = [Writable.prototype, Duplex.prototype].map((proto) => {
    const original = proto.end;
    return vi.spyOn(proto, "end").mockImplementation(function (this: Writable, ...args: unknown[]) {
      if (args.length === 0 && !clientStreams.has(this) && endIsWasted(this)) wasted++;
      return original.apply(this, args as Parameters<Writable["end"]>);
    });
  });
  try {
    await run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return wasted;
}

/** A client closes with 1000; resolves once both sides saw the close. */
async function clientCloses(client: WebSocket, server: WebSocket): Promise<void> {
  const serverClosed = once(server, "close");
  const clientClosed = once(client, "close");
  client.close(1000);
  const [[code]] = await Promise.all([serverClosed, clientClosed]);
  expect(code).toBe(1000);
}

const servers: WebSocketServer[] = [];
let t: TestServer | undefined;
afterEach(async () => {
  for (const wss of servers.splice(0)) await new Promise((resolve) => wss.close(resolve));
  await t?.close();
  t = undefined;
});

async function pair(quiet: boolean): Promise<{ server: WebSocket; client: WebSocket }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  servers.push(wss);
  await once(wss, "listening");
  const { port } = wss.address() as { port: number };
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const [server] = (await once(wss, "connection")) as [WebSocket];
  if (quiet) quietEnds(server);
  await once(client, "open");
  return { server, client };
}

describe("quiet ends", () => {
  it("are still needed: ws ends the server's finished streams again when a client closes", async () => {
    // When this fails, the ws installed no longer makes these calls: delete quiet-end.ts.
    const { server, client } = await pair(false);
    expect(await wastedEnds(client, () => clientCloses(client, server))).toBeGreaterThan(0);
  });

  it("leave none of those calls, and the close completes as before", async () => {
    const { server, client } = await pair(true);
    expect(await wastedEnds(client, () => clientCloses(client, server))).toBe(0);
  });

  it("end a stream that has not ended yet", async () => {
    // In a close, ws's first end() of the socket is such a call: it sends the server's FIN.
    const stream = new Writable({ write: (_chunk, _encoding, done) => done() });
    quietEnds({ _socket: stream } as unknown as WebSocket);
    const finished = once(stream, "finish");
    expect(stream.end()).toBe(stream);
    await finished;
    expect(stream.writableFinished).toBe(true);
  });

  it("are Node's end in every other case: a callback on a finished socket still gets its error", async () => {
    const { server, client } = await pair(true);
    await clientCloses(client, server);
    const socket = (server as unknown as { _socket: Writable })._socket;
    expect(socket.writableFinished || socket.destroyed).toBe(true);
    const error = await new Promise<Error | null | undefined>((resolve) => socket.end(resolve));
    expect(error).toMatchObject({ code: socket.writableFinished ? "ERR_STREAM_ALREADY_FINISHED" : "ERR_STREAM_DESTROYED" });
  });

  it("are what the Node host's sockets get", async () => {
    const room = defineRoom({ name: "plain", state: {} });
    t = await startTestServer({ rooms: [room] });
    const client = new WebSocket(t.server.roomUrl("plain", "r"));
    await once(client, "open");
    const wasted = await wastedEnds(client, async () => {
      client.send(JSON.stringify({ t: "hello", v: 1 }));
      await once(client, "message");
      client.close(1000);
      await once(client, "close");
      await vi.waitFor(() => expect(t!.server.stats().connections).toBe(0), { timeout: 5000, interval: 5 });
    });
    expect(wasted).toBe(0);
  });
});
