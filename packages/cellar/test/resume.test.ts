import { afterEach, describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import { startTcpProxy, startTestServer, type TcpProxy, type TestServer } from "cellar/testing";
import { feed } from "./fixtures/resume-rooms.js";

let t: TestServer | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await t?.close();
  t = proxy = undefined;
});

function lines(client: CellarClient): number[] {
  const seen: number[] = [];
  client.on("line", (data: { n: number }) => seen.push(data.n));
  return seen;
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}

function once<T = unknown>(client: CellarClient, event: string): Promise<T> {
  return new Promise((resolve) => client.once(event, resolve));
}

describe("resume through a severed connection", () => {
  it("gets exactly the frames it missed, in order, once", async () => {
    t = await startTestServer({ rooms: [feed] });
    proxy = await startTcpProxy(t.server.port);
    const viaProxy = t.client("feed", "f", {});
    await viaProxy.waitForConnection();
    viaProxy.close();
    const reader = t.client("feed", "f");
    const url = proxy.via(t.server.roomUrl("feed", "f"));
    const { CellarClient } = await import("cellar/client");
    const { WebSocket } = await import("ws");
    const client = new CellarClient(url, { WebSocket: WebSocket as never, reconnect: { initialDelayMs: 20, maxDelayMs: 50 } });
    const seen = lines(client);
    await client.waitForConnection();
    await reader.waitForConnection();
    for (let i = 0; i < 5; i++) await reader.request("say");
    await until(() => seen.length === 5);
    proxy.refuse();
    proxy.sever();
    for (let i = 0; i < 5; i++) await reader.request("say");
    proxy.accept();
    const resumed = await once<{ replayed: number }>(client, "$resumed");
    expect(resumed.replayed).toBe(5);
    await reader.request("say");
    await until(() => seen.length >= 11);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    client.close();
  });
});
