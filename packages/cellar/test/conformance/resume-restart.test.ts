import { describe, expect, it, vi } from "vitest";
import { next, record } from "../helpers/client-events.js";
import { lines } from "../helpers/feed.js";
import { useHost } from "./harness.js";
import { useProxy } from "./proxy.js";

/*
 * Resume across a restart of the host and across hibernation: the replay log is durable.
 * Client B's network (a TCP proxy in the test process) is down while frames are emitted.
 */

const hosts = useHost();
const proxies = useProxy();

const waitFor = (check: () => void | Promise<void>, timeout = 10_000) => vi.waitFor(check, { timeout, interval: 10 });
type Connects = Array<{ id: string; resumed: boolean }>;

/** A host with writer A and reader B (through the proxy) in feed instance `id`; B has seen lines 1 to 3. */
async function feedWithAbsentee(id: string) {
  const host = await hosts.start();
  const proxy = await proxies.start(host);
  const a = await host.connect("feed", id);
  const b = proxies.viaProxy(host, "feed", id);
  await b.waitForConnection();
  const bId = b.connectionId!;
  const seen = { a: lines(a), b: lines(b) };
  for (let i = 1; i <= 3; i++) expect(await a.request("say")).toBe(i);
  await waitFor(() => expect(seen.b).toEqual([1, 2, 3]));
  proxy.refuse();
  proxy.sever();
  // The room saw B's socket go: what follows is emitted to a session that is away.
  await waitFor(async () => expect(await a.request("disconnects")).toEqual([{ id: bId, code: 1006 }]));
  for (let i = 4; i <= 6; i++) expect(await a.request("say")).toBe(i);
  return { host, proxy, a, b, bId, seen };
}

describe("resume across a restart", () => {
  it("a client away during the restart gets exactly the frames it missed; a connected client resumes with nothing to replay", async () => {
    const { host, proxy, a, b, bId, seen } = await feedWithAbsentee("restart");
    const aId = a.connectionId!;
    const aResumed = next(a, "$resumed", 10_000);

    await host.restart();

    expect(await aResumed).toEqual({ replayed: 0 });
    const bResumed = next(b, "$resumed", 10_000);
    proxy.accept();
    expect(await bResumed).toEqual({ replayed: 3 });
    expect(await a.request("say")).toBe(7);
    await waitFor(() => expect([seen.a.at(-1), seen.b.at(-1)]).toEqual([7, 7]));
    expect(seen.a).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seen.b).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect([a.connectionId, b.connectionId]).toEqual([aId, bId]);
    const connects = (await a.request("connects")) as Connects;
    expect(connects.filter((c) => c.id === bId)).toEqual([
      { id: bId, resumed: false },
      { id: bId, resumed: true },
    ]);
  });
});

describe("resume across hibernation", () => {
  it("a client away while the room hibernated gets exactly the frames it missed", async () => {
    const { host, proxy, a, b, bId, seen } = await feedWithAbsentee("sleepy");
    const resyncs = record(b, "$resynced");

    await host.hibernateAll();

    const bResumed = next(b, "$resumed");
    proxy.accept();
    expect(await bResumed).toEqual({ replayed: 3 });
    expect(b.connectionId).toBe(bId);
    await waitFor(() => expect(seen.b).toEqual([1, 2, 3, 4, 5, 6]));
    expect(await b.request("say")).toBe(7);
    await waitFor(() => expect([seen.a.at(-1), seen.b.at(-1)]).toEqual([7, 7]));
    expect(seen.b).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(resyncs).toEqual([]);
    const connects = (await b.request("connects")) as Connects;
    expect(connects.filter((c) => c.id === bId)).toEqual([
      { id: bId, resumed: false },
      { id: bId, resumed: true },
    ]);
  });
});
