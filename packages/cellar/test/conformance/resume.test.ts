import { describe, expect, it, vi } from "vitest";
import { CellarClient, memoryStore, type ClientOptions } from "cellar/client";
import type { TcpProxy } from "cellar/testing";
import { next, record } from "../helpers/client-events.js";
import { lines, pump, range } from "../helpers/feed.js";
import { hostName, useHost, type ConformanceHost, type HostConfig } from "./harness.js";
import { useProxy, WS } from "./proxy.js";

/*
 * Resume with replay (guarantee 6). Clients whose network a test breaks go through a TCP
 * proxy in the test process (it works in front of any host): `sever()` cuts their sockets,
 * `refuse()` keeps them away. A client must then get exactly the frames it missed, in order,
 * once; the session keeps its id, channels and per-connection state.
 */

const hosts = useHost();
const proxies = useProxy();
const { viaProxy } = proxies;

/** A host (writers send as fast as the room answers: no rate limit in the way) and a proxy in front of it. */
async function serve(config: HostConfig = {}): Promise<{ host: ConformanceHost; proxy: TcpProxy }> {
  const host = await hosts.start({ rateLimit: { eventsPerSecond: 1e6, burst: 1e6 }, ...config });
  return { host, proxy: await proxies.start(host) };
}

const waitFor = (check: () => void | Promise<void>, timeout = 5_000) => vi.waitFor(check, { timeout, interval: 5 });

describe("resume after a dropped connection", () => {
  it("gets exactly the frames it missed, in order, once", async () => {
    const { host, proxy } = await serve();
    const writer = await host.connect("feed", "f");
    const client = viaProxy(host, "feed", "f");
    const seen = lines(client);
    await client.waitForConnection();
    for (let i = 0; i < 5; i++) await writer.request("say");
    await waitFor(() => expect(seen).toHaveLength(5));
    proxy.refuse();
    proxy.sever();
    for (let i = 0; i < 5; i++) await writer.request("say");
    proxy.accept();
    expect(await next(client, "$resumed")).toEqual({ replayed: 5 });
    await writer.request("say");
    await waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(11));
    expect(seen).toEqual(range(1, 11));
  });

  it("while a writer keeps broadcasting, after each drop the client gets exactly what a directly connected observer got", async () => {
    const { host, proxy } = await serve();
    const observer = await host.connect("feed", "live");
    const expected = lines(observer);
    const client = viaProxy(host, "feed", "live");
    await client.waitForConnection();
    const id = client.connectionId;
    const seen = lines(client);
    const resumes = record<{ replayed: number }>(client, "$resumed");
    const writing = pump(await host.connect("feed", "live"));

    for (let drop = 0; drop < 4; drop++) {
      const before = seen.length;
      await waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(before + 20));
      // Even drops: the network is back at once (the reconnect races the stream). Odd
      // drops: it stays down while the observer gets 30 more lines.
      if (drop % 2 === 1) proxy.refuse();
      proxy.sever();
      if (drop % 2 === 1) {
        const observed = expected.length;
        await waitFor(() => expect(expected.length).toBeGreaterThanOrEqual(observed + 30));
        proxy.accept();
      }
      await waitFor(() => expect(resumes).toHaveLength(drop + 1));
    }
    const before = seen.length;
    await waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(before + 20));
    const last = await writing.stop();
    await waitFor(() => expect([seen.at(-1), expected.at(-1)]).toEqual([last, last]));
    expect(expected).toEqual(range(1, last));
    expect(seen).toEqual(expected);
    expect(client.connectionId).toBe(id);
    // While the network was down the client missed lines (30 at least, less the few that
    // may have been on their way when it went): they came by replay.
    expect(resumes[1]!.replayed).toBeGreaterThanOrEqual(20);
    expect(resumes[3]!.replayed).toBeGreaterThanOrEqual(20);
  });

  it("channel and toConnection emits are replayed, volatile ones are not; the session keeps its id and channels; onConnect sees resumed", async () => {
    const { host, proxy } = await serve();
    const writer = await host.connect("feed", "away");
    const other = await host.connect("feed", "away", { params: { channel: "blue" } });
    const client = viaProxy(host, "feed", "away", { params: { channel: "red" } });
    await client.waitForConnection();
    const id = client.connectionId!;
    const got = record<{ n: number; whisper?: boolean }>(client, "line");
    const ticks = record(client, "tick");
    expect(await writer.request("say", { channel: "red" })).toBe(1);
    await waitFor(() => expect(got).toEqual([{ n: 1 }]));

    proxy.refuse();
    proxy.sever();
    // The room saw the socket go: what follows is emitted to a session that is away.
    await waitFor(async () => expect(await writer.request("disconnects")).toEqual([{ id, code: 1006 }]));
    expect(await writer.request("say", { channel: "red" })).toBe(2);
    expect(await writer.request("say", { channel: "blue" })).toBe(3);
    expect(await writer.request("whisper", { to: id })).toBe(4);
    expect(await writer.request("whisper", { to: other.connectionId })).toBe(5);
    await writer.request("tick");
    expect(await writer.request("say")).toBe(6);
    proxy.accept();

    expect(await next(client, "$resumed")).toEqual({ replayed: 3 });
    await waitFor(() => expect(got).toHaveLength(4));
    expect(got).toEqual([{ n: 1 }, { n: 2 }, { n: 4, whisper: true }, { n: 6 }]);
    expect(ticks).toEqual([]);
    expect(client.connectionId).toBe(id);

    // Live again: ticks reach it now, and it is still in its channel.
    await writer.request("tick");
    expect(await writer.request("say", { channel: "red" })).toBe(7);
    await waitFor(() => expect(got.at(-1)).toEqual({ n: 7 }));
    expect(ticks).toHaveLength(1);
    const connects = (await writer.request("connects")) as Array<{ id: string; resumed: boolean }>;
    expect(connects.filter((c) => c.id === id)).toEqual([
      { id, resumed: false },
      { id, resumed: true },
    ]);
  });

  it("a new client object with the same session store resumes the session (a page reload); close() forgets it", async () => {
    const { host, proxy } = await serve();
    const store = memoryStore();
    const url = proxy.via(host.roomUrl("feed", "reload"));
    const open = (options: ClientOptions) => {
      return proxies.track(new CellarClient(url, { WebSocket: WS, sessionStore: store, ...options }));
    };
    const writer = await host.connect("feed", "reload");
    const page1 = open({ reconnect: false });
    await page1.waitForConnection();
    const id = page1.connectionId;
    const seen1 = lines(page1);
    await writer.request("say");
    await writer.request("say");
    await waitFor(() => expect(seen1).toEqual([1, 2]));
    expect(store.get(`cellar:${url}`)).toEqual({ token: expect.stringMatching(new RegExp(`^${id}\\.`)), lastSeq: page1.lastSeq });

    proxy.sever();
    await waitFor(() => expect(page1.state).toBe("closed"));
    for (let i = 0; i < 3; i++) await writer.request("say");

    const page2 = open({});
    const seen2 = lines(page2);
    expect(await next(page2, "$resumed")).toEqual({ replayed: 3 });
    expect(page2.connectionId).toBe(id);
    await waitFor(() => expect(seen2).toEqual([3, 4, 5]));

    page2.close();
    expect(store.get(`cellar:${url}`)).toBeUndefined();
    const page3 = open({});
    const resumed = record(page3, "$resumed");
    const resynced = record(page3, "$resynced");
    await page3.waitForConnection();
    expect(page3.connectionId).not.toBe(id);
    expect([resumed, resynced]).toEqual([[], []]);
  });

  // On Cloudflare the platform answers pings without waking the room, so pongs carry no
  // number (docs/cloudflare.md, "What is identical and what differs"): Node only.
  it.skipIf(hostName === "workerd")("pongs carry the room's committed number: a quiet client in a busy room resumes after the log moved past its last frame", async () => {
    const { host, proxy } = await serve({ replayLogMaxEntries: 16 });
    const writer = await host.connect("feed", "quiet");
    await host.connect("feed", "quiet", { params: { channel: "blue" } });
    const client = viaProxy(host, "feed", "quiet", { params: { channel: "red" }, pingIntervalMs: 50 });
    await client.waitForConnection();
    const seen = lines(client);
    // 40 lines to another channel: 40 log entries, none for the client.
    for (let i = 0; i < 40; i++) await writer.request("say", { channel: "blue" });
    await waitFor(() => expect(client.lastSeq).toBe(40));

    proxy.refuse();
    proxy.sever();
    expect(await writer.request("say", { channel: "red" })).toBe(41);
    proxy.accept();
    expect(await next(client, "$resumed")).toEqual({ replayed: 1 });
    await waitFor(() => expect(seen).toEqual([41]));
  });
});

describe("outside the replay window", () => {
  it("resumes while the log still holds what it missed; resyncs (fresh session, onConnect not resumed) once trimmed", async () => {
    const { host, proxy } = await serve({ replayLogMaxEntries: 16 });
    const writer = await host.connect("feed", "trim");
    const client = viaProxy(host, "feed", "trim");
    await client.waitForConnection();
    const id = client.connectionId!;
    const seen = lines(client);

    // 5 lines away: 5 log entries, kept.
    proxy.refuse();
    proxy.sever();
    for (let i = 0; i < 5; i++) await writer.request("say");
    proxy.accept();
    expect(await next(client, "$resumed")).toEqual({ replayed: 5 });
    await waitFor(() => expect(seen).toEqual([1, 2, 3, 4, 5]));

    // 40 lines away: the log keeps at most 16 (+ a trimming step).
    proxy.refuse();
    proxy.sever();
    for (let i = 0; i < 40; i++) await writer.request("say");
    const resumed = record(client, "$resumed");
    const resynced = next<{ code: number }>(client, "$resynced");
    proxy.accept();
    expect(await resynced).toEqual({ code: 1006 });
    expect(resumed).toEqual([]);
    expect(client.connectionId).not.toBe(id);
    const connects = (await writer.request("connects")) as Array<{ id: string; resumed: boolean }>;
    expect(connects.at(-1)).toEqual({ id: client.connectionId, resumed: false });
    // Nothing of the gap is replayed; live lines flow again.
    expect(await writer.request("say")).toBe(46);
    await waitFor(() => expect(seen.at(-1)).toBe(46));
    expect(seen).toEqual([1, 2, 3, 4, 5, 46]);
  });

  it("a session away longer than resumeWindowMs resyncs", async () => {
    const { host, proxy } = await serve({ resumeWindowMs: 300 });
    const writer = await host.connect("feed", "window");
    const client = viaProxy(host, "feed", "window");
    await client.waitForConnection();
    const id = client.connectionId!;
    const seen = lines(client);
    proxy.refuse();
    proxy.sever();
    await waitFor(async () => expect(await writer.request("disconnects")).toEqual([{ id, code: 1006 }]));
    expect(await writer.request("say")).toBe(1);
    // Away for longer than the window: there is nothing else to wait for.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const resynced = next(client, "$resynced");
    proxy.accept();
    await resynced;
    expect(client.connectionId).not.toBe(id);
    const connects = (await writer.request("connects")) as Array<{ id: string; resumed: boolean }>;
    expect(connects.at(-1)).toEqual({ id: client.connectionId, resumed: false });
    expect(await writer.request("say")).toBe(2);
    await waitFor(() => expect(seen).toEqual([2]));
  });
});

describe("per-connection state across a resume", () => {
  it("per-user state survives the user's reconnects; toUser emits made while the user was away are replayed", async () => {
    const { host, proxy } = await serve();
    const ann = viaProxy(host, "profile", "p", { params: { user: "ann" } });
    await ann.waitForConnection();
    const notes = record(ann, "note");
    expect(await ann.request("visit")).toBe(1);
    expect(await ann.request("visit")).toBe(2);
    proxy.refuse();
    proxy.sever();
    await waitFor(() => expect(ann.state).toBe("reconnecting"));
    const bob = await host.connect("profile", "p", { params: { user: "bob" } });
    await bob.request("tell", "ann");
    await bob.request("tell", "carol");
    proxy.accept();
    expect(await next(ann, "$resumed")).toEqual({ replayed: 1 });
    await waitFor(() => expect(notes).toEqual([{ from: "bob" }]));
    expect(await ann.request("visit")).toBe(3);
    ann.close();

    const again = await host.connect("profile", "p", { params: { user: "ann" } });
    expect(await again.request("visit")).toBe(4);
    expect(await bob.request("visit")).toBe(1);
    expect(await again.request("visit")).toBe(5);
  });

  it("anonymous per-connection state stays with the session across a resume; another session has its own", async () => {
    const { host, proxy } = await serve();
    const client = viaProxy(host, "scratch", "s");
    await client.waitForConnection();
    expect(await client.request("bump")).toBe(1);
    expect(await client.request("bump")).toBe(2);
    const resumed = next(client, "$resumed");
    proxy.sever();
    await resumed;
    expect(await client.request("bump")).toBe(3);
    const other = await host.connect("scratch", "s");
    expect(await other.request("bump")).toBe(1);
    expect(await client.request("bump")).toBe(4);
  });
});
