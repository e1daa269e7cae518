import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { FrameEncoder, sendText, writesDirectly } from "./ws-frames.js";

/** A server socket and the client at its other end. */
async function pair(perMessageDeflate: boolean): Promise<{ server: WebSocket; client: WebSocket; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate });
  await once(wss, "listening");
  const { port } = wss.address() as { port: number };
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate });
  const [server] = (await once(wss, "connection")) as [WebSocket];
  await once(client, "open");
  return { server, client, wss };
}

function collect(client: WebSocket, count: number): Promise<string[]> {
  const got: string[] = [];
  return new Promise((resolve) => {
    client.on("message", (data, isBinary) => {
      got.push(isBinary ? `binary:${data.toString()}` : data.toString());
      if (got.length === count) resolve(got);
    });
  });
}

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const wss of servers.splice(0)) {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
});

describe("ws-frames", () => {
  it("writes whole frames directly with the ws this package installs, every length form, the same bytes to each socket", async () => {
    const a = await pair(false);
    const b = await pair(false);
    servers.push(a.wss, b.wss);
    expect(writesDirectly(a.server)).toBe(true);
    // 7-bit, 16-bit and 64-bit payload lengths, and multi-byte UTF-8.
    const texts = ["{}", "é".repeat(63), "x".repeat(125), "y".repeat(126), "€".repeat(30_000), "z".repeat(70_000)];
    const gotA = collect(a.client, texts.length);
    const gotB = collect(b.client, texts.length);
    const encoder = new FrameEncoder();
    for (const text of texts) {
      expect(sendText(a.server, true, encoder, text)).toBe(true);
      expect(sendText(b.server, true, encoder, text)).toBe(true);
    }
    expect(await gotA).toEqual(texts);
    expect(await gotB).toEqual(texts);
  });

  it("goes through ws.send when permessage-deflate was negotiated, and sends nothing once the socket is closing", async () => {
    const p = await pair(true);
    servers.push(p.wss);
    expect(writesDirectly(p.server)).toBe(false);
    const got = collect(p.client, 1);
    expect(sendText(p.server, writesDirectly(p.server), new FrameEncoder(), "hello".repeat(100))).toBe(false);
    expect(await got).toEqual(["hello".repeat(100)]);

    const q = await pair(false);
    servers.push(q.wss);
    const closed = once(q.client, "close");
    const received: string[] = [];
    q.client.on("message", (data) => received.push(data.toString()));
    q.server.close(1000, "bye");
    expect(sendText(q.server, true, new FrameEncoder(), "late")).toBe(false);
    const [code] = (await closed) as [number];
    expect(code).toBe(1000);
    expect(received).toEqual([]);
  });
});
