import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { CellarClient, type ClientOptions, type WebSocketConstructor } from "cellar/client";
import { startServerProcess, startTcpProxy, tempDataDir, type ServerProcess, type TcpProxy } from "cellar/testing";
import { record } from "./helpers/client-events.js";

/*
 * Resume across a real crash: the server (test/fixtures/resume-server.ts) runs in a child
 * process that is killed with SIGKILL (or stopped with SIGTERM) and started again on the
 * same data directory and port. Clients go through TCP proxies that can hold or refuse
 * their connections, so that some miss frames before the crash.
 */

const script = fileURLToPath(new URL("./fixtures/resume-server.ts", import.meta.url));
const WS = WebSocket as unknown as WebSocketConstructor;
const retry = { initialDelayMs: 50, maxDelayMs: 200 };

let processes: ServerProcess[] = [];
let proxies: TcpProxy[] = [];
let clients: CellarClient[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  for (const p of processes) await p.kill("SIGKILL");
  for (const p of proxies) await p.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  processes = [];
  proxies = [];
  clients = [];
  dirs = [];
});

function dataDir(): string {
  const dir = tempDataDir();
  dirs.push(dir);
  return dir;
}

/** Starts the server process on `dir`; `env` may set PORT, RESUME_WINDOW_MS, REPLAY_LOG_MAX_ENTRIES. */
async function boot(dir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const p = await startServerProcess({ script, env: { DATA_DIR: dir, ...env }, execArgv: ["--conditions=source", "--import", "tsx"] });
  processes.push(p);
  return p;
}

const portOf = (p: ServerProcess) => Number(new URL(p.url).port);

async function proxyTo(port: number): Promise<TcpProxy> {
  const p = await startTcpProxy(port);
  proxies.push(p);
  return p;
}

function open(url: string, options: ClientOptions = {}): CellarClient {
  const c = new CellarClient(url, { WebSocket: WS, reconnect: retry, ...options });
  clients.push(c);
  return c;
}

async function connect(url: string, options: ClientOptions = {}): Promise<CellarClient> {
  const c = open(url, options);
  await c.waitForConnection();
  return c;
}

function lines(client: CellarClient): number[] {
  const seen: number[] = [];
  client.on("line", (data: { n: number }) => seen.push(data.n));
  return seen;
}

function waitFor(check: () => void | Promise<void>, timeout = 10_000): Promise<void> {
  return vi.waitFor(check, { timeout, interval: 10 });
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

type Connects = Array<{ id: string; resumed: boolean }>;

describe("SIGKILL and restart within the resume window", () => {
  it("every client, in two rooms, resumes and gets exactly the acknowledged frames it missed", async () => {
    const dir = dataDir();
    const first = await boot(dir);
    const port = portOf(first);
    // Three networks: one that works, one that goes silent, one that goes down.
    const good = await proxyTo(port);
    const silent = await proxyTo(port);
    const down = await proxyTo(port);
    const members = [
      { name: "a1", room: "a", net: good },
      { name: "a2", room: "a", net: good },
      { name: "a3", room: "a", net: silent },
      { name: "b1", room: "b", net: good },
      { name: "b2", room: "b", net: down },
    ].map((m) => {
      const client = open(m.net.via(first.roomUrl("feed", m.room)));
      return { ...m, client, seen: lines(client), resumed: record<{ replayed: number }>(client, "$resumed"), resynced: record(client, "$resynced") };
    });
    await Promise.all(members.map((m) => m.client.waitForConnection()));
    const ids = members.map((m) => m.client.connectionId);
    const writers = {
      a: await connect(first.roomUrl("feed", "a"), { reconnect: false }),
      b: await connect(first.roomUrl("feed", "b"), { reconnect: false }),
    };
    for (let i = 1; i <= 3; i++) {
      expect(await writers.a.request("say")).toBe(i);
      expect(await writers.b.request("say")).toBe(i);
    }
    await waitFor(() => expect(members.map((m) => m.seen)).toEqual(members.map(() => [1, 2, 3])));

    // a3's socket stays open but silent (the server thinks it is fine); b2's goes down.
    silent.stall();
    down.refuse();
    down.sever();
    await waitFor(() => expect(members[4]!.client.state).toBe("reconnecting"));
    for (let i = 4; i <= 7; i++) {
      expect(await writers.a.request("say")).toBe(i);
      expect(await writers.b.request("say")).toBe(i);
    }
    // Acknowledged, hence committed: now the crash.
    const online = members.filter((m) => m.net === good);
    await waitFor(() => expect(online.map((m) => m.seen)).toEqual(online.map(() => range(1, 7))));
    await first.kill("SIGKILL");
    // The silent connection dies with what it held (never delivered).
    silent.sever();
    silent.flow();
    await waitFor(() => expect(members.map((m) => m.client.state)).toEqual(members.map(() => "reconnecting")));
    expect(members[2]!.seen).toEqual([1, 2, 3]);
    expect(members[4]!.seen).toEqual([1, 2, 3]);

    const second = await boot(dir, { PORT: String(port) });
    down.accept();
    await waitFor(() => expect(members.map((m) => m.resumed.length)).toEqual([1, 1, 1, 1, 1]), 15_000);
    expect(members.map((m) => [m.name, m.resumed[0]!.replayed])).toEqual([
      ["a1", 0],
      ["a2", 0],
      ["a3", 4],
      ["b1", 0],
      ["b2", 4],
    ]);
    expect(members.map((m) => m.resynced)).toEqual(members.map(() => []));
    expect(members.map((m) => m.client.connectionId)).toEqual(ids);

    const writersAfter = {
      a: await connect(second.roomUrl("feed", "a"), { reconnect: false }),
      b: await connect(second.roomUrl("feed", "b"), { reconnect: false }),
    };
    for (let i = 8; i <= 9; i++) {
      expect(await writersAfter.a.request("say")).toBe(i);
      expect(await writersAfter.b.request("say")).toBe(i);
    }
    await waitFor(() => expect(members.map((m) => m.seen.length)).toEqual([9, 9, 9, 9, 9]));
    expect(members.map((m) => m.seen)).toEqual(members.map(() => range(1, 9)));
    // onConnect saw each of them come back as resumed.
    const connects = { a: (await writersAfter.a.request("connects")) as Connects, b: (await writersAfter.b.request("connects")) as Connects };
    for (const m of members) {
      const id = m.client.connectionId!;
      expect(connects[m.room as "a" | "b"].filter((c) => c.id === id)).toEqual([
        { id, resumed: false },
        { id, resumed: true },
      ]);
    }
  });

  it("a session's channels (joined in a handler), anonymous connection state and per-user state survive the crash", async () => {
    const dir = dataDir();
    const first = await boot(dir);
    const listener = await connect(first.roomUrl("feed", "ch"));
    await listener.request("join", "green");
    const seen = lines(listener);
    const anon = await connect(first.roomUrl("scratch", "s"));
    expect(await anon.request("bump")).toBe(1);
    expect(await anon.request("bump")).toBe(2);
    const ann = await connect(first.roomUrl("profile", "p"), { params: { user: "ann" } });
    expect(await ann.request("visit")).toBe(1);
    expect(await ann.request("visit")).toBe(2);
    const writer = await connect(first.roomUrl("feed", "ch"), { reconnect: false });
    expect(await writer.request("say", { channel: "green" })).toBe(1);
    await waitFor(() => expect(seen).toEqual([1]));
    const resumed = [listener, anon, ann].map((c) => record(c, "$resumed"));
    const ids = [listener, anon, ann].map((c) => c.connectionId);
    await first.kill("SIGKILL");

    const second = await boot(dir, { PORT: String(portOf(first)) });
    await waitFor(() => expect(resumed.map((r) => r.length)).toEqual([1, 1, 1]));
    expect([listener, anon, ann].map((c) => c.connectionId)).toEqual(ids);
    const writerAfter = await connect(second.roomUrl("feed", "ch"), { reconnect: false });
    expect(await writerAfter.request("say", { channel: "green" })).toBe(2);
    expect(await writerAfter.request("say", { channel: "other" })).toBe(3);
    expect(await writerAfter.request("say")).toBe(4);
    await waitFor(() => expect(seen.at(-1)).toBe(4));
    expect(seen).toEqual([1, 2, 4]);
    expect(await anon.request("bump")).toBe(3);
    expect(await ann.request("visit")).toBe(3);
    // Another session: its own anonymous state; the same user: the same per-user state.
    expect(await (await connect(second.roomUrl("scratch", "s"))).request("bump")).toBe(1);
    expect(await (await connect(second.roomUrl("profile", "p"), { params: { user: "ann" } })).request("visit")).toBe(4);
  });
});

describe("when a resume is not possible after a restart", () => {
  it("outside the resume window: $resynced, a new connection id, onConnect with resumed false", async () => {
    const windowMs = 1500;
    const env = { RESUME_WINDOW_MS: String(windowMs) };
    const dir = dataDir();
    const first = await boot(dir, env);
    const port = portOf(first);
    const url = first.roomUrl("feed", "w");
    // c1 goes away before the crash and stays away; c3 comes back at once after the restart.
    // c2, alone in its room, stays away after the restart (its room is not loaded meanwhile:
    // the session ends in storage).
    const nets = [await proxyTo(port), await proxyTo(port), await proxyTo(port)];
    const urls = [url, first.roomUrl("feed", "w2"), url];
    const cs = nets.map((net, i) => open(net.via(urls[i]!)));
    await Promise.all(cs.map((c) => c.waitForConnection()));
    const [c1, c2, c3] = cs as [CellarClient, CellarClient, CellarClient];
    const ids = cs.map((c) => c.connectionId!);
    const resynced = cs.map((c) => record<{ code: number }>(c, "$resynced"));
    const resumed = cs.map((c) => record<{ replayed: number }>(c, "$resumed"));
    const writer = await connect(url, { reconnect: false });
    expect(await writer.request("say")).toBe(1);

    nets[0]!.refuse();
    nets[0]!.sever();
    await waitFor(async () => expect(await writer.request("disconnects")).toEqual([{ id: ids[0], code: 1006 }]));
    // Time must pass here: the window runs out while the server is up, and its sweep
    // (every windowMs / 4) ends the session.
    await sleep(windowMs + 600);
    await first.kill("SIGKILL");
    nets[1]!.refuse();
    // Down longer than the window: sessions open at the crash count as away from the restart.
    await sleep(windowMs + 300);

    await boot(dir, { ...env, PORT: String(port) });
    nets[0]!.accept();
    await waitFor(() => expect([resumed[2]!.length, resynced[0]!.length]).toEqual([1, 1]));
    expect(c3.connectionId).toBe(ids[2]);
    expect(resynced[0]).toEqual([{ code: 1006 }]);
    expect(c1.connectionId).not.toBe(ids[0]);

    // c2 away from the restart on for longer than the window.
    await sleep(windowMs + 600);
    nets[1]!.accept();
    await waitFor(() => expect(resynced[1]).toHaveLength(1));
    expect(c2.connectionId).not.toBe(ids[1]);
    expect([resumed[0], resumed[1], resynced[2]]).toEqual([[], [], []]);

    const connects = (await c1.request("connects")) as Connects;
    const connects2 = (await c2.request("connects")) as Connects;
    // onConnect ran for the new sessions with resumed false, and never resumed the old ones.
    expect(connects2).toEqual([
      { id: ids[1], resumed: false },
      { id: c2.connectionId, resumed: false },
    ]);
    expect(connects.filter((e) => e.id === c1.connectionId)).toEqual([{ id: c1.connectionId, resumed: false }]);
    expect(connects.filter((e) => e.id === ids[0])).toEqual([{ id: ids[0], resumed: false }]);
    expect(connects.filter((e) => e.id === ids[2])).toEqual([
      { id: ids[2], resumed: false },
      { id: ids[2], resumed: true },
    ]);
  });

  it("the replay log was trimmed past what the client saw: $resynced; a client that saw everything resumes", async () => {
    const env = { REPLAY_LOG_MAX_ENTRIES: "8" };
    const dir = dataDir();
    const first = await boot(dir, env);
    const port = portOf(first);
    const url = first.roomUrl("feed", "trim");
    const away = await proxyTo(port);
    const behind = open(away.via(url));
    const current = open(url);
    await Promise.all([behind.waitForConnection(), current.waitForConnection()]);
    const [behindId, currentId] = [behind.connectionId, current.connectionId];
    const seen = { behind: lines(behind), current: lines(current) };
    const resynced = record<{ code: number }>(behind, "$resynced");
    const resumed = record<{ replayed: number }>(current, "$resumed");
    const writer = await connect(url, { reconnect: false });
    await writer.request("say");
    await waitFor(() => expect(seen.behind).toEqual([1]));

    away.refuse();
    away.sever();
    for (let i = 0; i < 30; i++) await writer.request("say");
    await waitFor(() => expect(seen.current).toHaveLength(31));
    await first.kill("SIGKILL");

    await boot(dir, { ...env, PORT: String(port) });
    away.accept();
    await waitFor(() => expect([resynced.length, resumed.length]).toEqual([1, 1]));
    expect(resynced).toEqual([{ code: 1006 }]);
    expect(behind.connectionId).not.toBe(behindId);
    expect(resumed).toEqual([{ replayed: 0 }]);
    expect(current.connectionId).toBe(currentId);
    expect(seen.behind).toEqual([1]);
    const connects = (await current.request("connects")) as Connects;
    expect(connects.filter((e) => e.id === behind.connectionId)).toEqual([{ id: behind.connectionId, resumed: false }]);
    expect(connects.filter((e) => e.id === currentId)).toEqual([
      { id: currentId, resumed: false },
      { id: currentId, resumed: true },
    ]);
  });
});

describe("graceful restart (SIGTERM)", () => {
  it("clients see 1012, retry at once, resume on the restarted server; emits made while it was down arrive once, in order", async () => {
    const dir = dataDir();
    const first = await boot(dir);
    const client = await connect(first.roomUrl("journal", "j"));
    const id = client.connectionId;
    const retries = record<{ attempt: number; delayMs: number; code: number }>(client, "$retry");
    const resumed = record<{ replayed: number }>(client, "$resumed");
    client.emit("jot", 1);
    expect(await client.request("entries")).toEqual([1]);

    first.child.kill("SIGTERM");
    expect(await first.exited).toEqual({ code: 0, signal: null });
    await waitFor(() => expect(retries.length).toBeGreaterThanOrEqual(2));
    expect(retries[0]).toEqual({ attempt: 1, delayMs: 0, code: 1012 });
    expect(retries[1]!.delayMs).toBeGreaterThan(0);
    for (let i = 2; i <= 4; i++) client.emit("jot", i);

    await boot(dir, { PORT: String(portOf(first)) });
    await waitFor(() => expect(resumed).toEqual([{ replayed: 0 }]));
    expect(client.connectionId).toBe(id);
    expect(await client.request("entries")).toEqual([1, 2, 3, 4]);
  });
});
