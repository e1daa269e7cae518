import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { startTestServer, type TestServer } from "cellar/testing";
import { defineLobby } from "./conformance/rooms.js";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const gc = (globalThis as { gc?: () => void }).gc!;

/** Lets pending finalization happen: WeakRefs created in this job stay alive until it ends. */
async function collect() {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

/** The suite's lobby room, with a probe recording its hooks and the state each `setup` saw. */
function lobbyRoom() {
  const hooks: string[] = [];
  const refs: WeakRef<object>[] = [];
  const room = defineLobby({ hook: (name) => void hooks.push(name), setup: (state) => void refs.push(new WeakRef(state)) });
  return { room, hooks, refs };
}

// What survives hibernation as clients see it (state, per-user state, meta, channels,
// storage, SQL, hooks) is in conformance/hibernation.test.ts, after a forced hibernation.
// These tests need the Node host: hibernation by idle time, memory, pings and room counts.
describe("hibernation (guarantee 4)", () => {
  it("drops an idle instance from memory after hibernateAfterMs; the socket stays open; the next event restores it", async () => {
    const { room, hooks, refs } = lobbyRoom();
    t = await startTestServer({ rooms: [room], hibernateAfterMs: 50 });
    const c = await t.connect("lobby", "main", { params: { user: "ana" } });
    await c.request("setup", { topic: "Rioja", nick: "Ana" });
    expect(t.server.stats().rooms).toEqual({ live: 1, hibernated: 0 });

    await vi.waitFor(() => expect(t!.server.stats().rooms).toEqual({ live: 0, hibernated: 1 }), { timeout: 5000, interval: 10 });
    await collect();
    expect(refs[0]!.deref()).toBeUndefined();
    expect(c.state).toBe("open");
    expect(t.server.stats().connections).toBe(1);

    const view = await c.request("look");
    expect(hooks).toEqual(["create", "restore"]);
    // Persisted keys are intact, the others start over; meta and channels stayed with the socket.
    expect(view).toEqual({ topic: "Rioja", seen: 0, nick: "Ana", typing: false, meta: { userId: "ana", role: "guest" }, channels: ["regulars"] });
  });

  it("answers pings (protocol and WebSocket) without waking the instance", async () => {
    const { room, hooks } = lobbyRoom();
    t = await startTestServer({ rooms: [room] });
    const c = await t.connect("lobby", "quiet", { params: { user: "bo" } });
    await c.request("setup", { topic: "Douro", nick: "Bo" });
    expect(t.server.hibernate("lobby", "quiet")).toBe(1);

    const pong = new Promise((resolve) => c.once("$pong", resolve));
    c.sendRaw('{"t":"ping"}');
    await pong;

    const raw = new WebSocket(t.server.roomUrl("lobby", "quiet"));
    await new Promise((resolve) => raw.once("open", resolve));
    const wsPong = new Promise((resolve) => raw.once("pong", resolve));
    raw.ping();
    await wsPong;
    raw.close();

    expect(t.server.stats().rooms).toEqual({ live: 0, hibernated: 1 });
    expect(hooks).toEqual(["create"]);
  });
});
