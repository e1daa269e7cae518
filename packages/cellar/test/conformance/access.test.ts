import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { CellarClient, type WebSocketConstructor } from "cellar/client";
import { expectNoLeak, SECRETS, upgradeAnswer } from "../helpers/raw-socket.js";
import { useHost, type ConformanceHost, type HostConfig } from "./harness.js";
import { useRawSockets } from "./raw.js";

// Guarantee 7 at the door: upgrades from foreign origins or to unknown paths are refused
// over HTTP, and `authenticate` refusals close with their documented codes, leaking nothing.

const hosts = useHost();
const raw = useRawSockets();
let host: ConformanceHost;

async function start(config: HostConfig = {}): Promise<ConformanceHost> {
  host = await hosts.start(config);
  return host;
}

const forbidden = { status: 403, body: JSON.stringify({ code: "ORIGIN_NOT_ALLOWED" }) };

describe("upgrade origin", () => {
  it("by default lets in same-origin pages and clients without an Origin", async () => {
    await start();
    const url = host.roomUrl("counter", "a");
    expect((await upgradeAnswer(url, host.url)).status).toBe(101);
    expect((await upgradeAnswer(url)).status).toBe(101);
  });

  it.each(["https://evil.example", "http://127.0.0.1:1", "null", "not a url"])("by default refuses origin %s with HTTP 403", async (origin) => {
    await start();
    const bystander = await host.connect("counter", "a");
    expect(await upgradeAnswer(host.roomUrl("counter", "a"), origin)).toEqual(forbidden);
    expect(await bystander.request("inc")).toBe(1);
  });

  it("with allowedOrigins, lets in exactly the listed origins", async () => {
    await start({ allowedOrigins: ["https://app.example"] });
    const bystander = await host.connect("counter", "a");
    const url = host.roomUrl("counter", "a");
    expect((await upgradeAnswer(url, "https://app.example")).status).toBe(101);
    expect(await upgradeAnswer(url, host.url)).toEqual(forbidden);
    expect(await upgradeAnswer(url, "https://app.example.evil.com")).toEqual(forbidden);
    expect(await upgradeAnswer(url, "http://app.example")).toEqual(forbidden);
    expect(await bystander.request("inc")).toBe(1);
  });
});

describe("upgrade path", () => {
  it.each([
    "/rooms/nope/a",
    "/rooms/counter",
    "/rooms/counter/a/b",
    `/rooms/counter/${"x".repeat(129)}`,
    "/rooms/counter/%E0%A4%A",
    "/rooms/counter/a%00b",
    "/elsewhere",
  ])("refuses %s with HTTP 404", async (path) => {
    await start();
    const bystander = await host.connect("counter", "a");
    const answer = await upgradeAnswer(host.url.replace(/^http/, "ws") + path);
    expect(answer).toEqual({ status: 404, body: JSON.stringify({ code: "ROOM_NOT_FOUND" }) });
    expect(await bystander.request("inc")).toBe(1);
  });

  describe("a room's own websocketPath", () => {
    let viaPath: CellarClient | undefined;
    afterEach(() => {
      viaPath?.close();
      viaPath = undefined;
    });

    it("serves the same instance as /rooms/<kind>/<id>", async () => {
      await start();
      viaPath = new CellarClient(`${host.url.replace(/^http/, "ws")}/notes/room-1`, { WebSocket: WebSocket as unknown as WebSocketConstructor });
      await viaPath.waitForConnection();
      expect(await viaPath.request("add", "x")).toBe(1);
      expect(await (await host.connect("notes", "room-1")).request("read")).toEqual({ count: 1, rows: 1 });
    });

    it("serves the instance its route picks from the request, and refuses the upgrade its route refuses", async () => {
      await start();
      const at = (query: string) => `${host.url.replace(/^http/, "ws")}/me${query}`;
      viaPath = new CellarClient(at("?user=ana"), { WebSocket: WebSocket as unknown as WebSocketConstructor });
      expect(await viaPath.request("whoami")).toBe("ana");
      expect(await viaPath.request("inc")).toBe(1);
      expect(await (await host.connect("mine", "ana")).request("inc")).toBe(2);
      expect(await (await host.connect("mine", "bo")).request("inc")).toBe(1);

      const refused = async (query: string) => {
        const { status, body } = await upgradeAnswer(at(query));
        return { status, code: JSON.parse(body).code };
      };
      expect(await refused("")).toEqual({ status: 401, code: "UNAUTHORIZED" });
      expect(await refused("?user=a%2Fb")).toEqual({ status: 400, code: "INVALID_ARGUMENT" });
      expect(await refused("?user=crash")).toEqual({ status: 500, code: "INTERNAL_ERROR" });
    });
  });
});

describe("authenticate refusals", () => {
  /** Says hello with `params` and returns the error frame and close the server answered with. */
  async function refusedHello(params: Record<string, unknown>) {
    const socket = await raw.open(host.roomUrl("guarded", "g"));
    socket.send({ t: "hello", v: 1, params });
    const frame = await socket.next();
    const closed = await socket.closeEvent();
    expectNoLeak(frame);
    return { frame, closed };
  }

  it.each([
    ["a wrong token", { token: "wrong" }],
    ["no token", {}],
  ])("closes with 4401 UNAUTHORIZED for %s", async (_name, params) => {
    await start();
    const member = await host.connect("guarded", "g", { params: { token: "good" } });
    const { frame, closed } = await refusedHello(params);
    expect(frame).toMatchObject({ t: "error", code: "UNAUTHORIZED", message: "Missing or wrong token" });
    expect(closed.code).toBe(4401);
    expect(await member.request("connects")).toBe(1);
  });

  it("closes with 4403 FORBIDDEN when authenticate throws FORBIDDEN", async () => {
    await start();
    const member = await host.connect("guarded", "g", { params: { token: "good" } });
    const { frame, closed } = await refusedHello({ token: "banned" });
    expect(frame).toMatchObject({ t: "error", code: "FORBIDDEN", message: "This account is banned" });
    expect(closed.code).toBe(4403);
    expect(await member.request("connects")).toBe(1);
  });

  it("closes with 4403 and the room's own code when authenticate throws another CellarError", async () => {
    await start();
    const { frame, closed } = await refusedHello({ token: "uninvited" });
    expect(frame).toMatchObject({ t: "error", code: "NOT_INVITED", message: "Ask the host for an invitation" });
    expect(closed.code).toBe(4403);
  });

  it("closes with 1011 and a generic message when authenticate throws a plain Error", async () => {
    await start();
    const member = await host.connect("guarded", "g", { params: { token: "good" } });
    const { frame, closed } = await refusedHello({ token: "boom" });
    expect(frame).toMatchObject({ t: "error", code: expect.any(String), message: expect.any(String) });
    expect(closed.code).toBe(1011);
    for (const text of [...SECRETS, "10.0.0.7", "authenticate"]) {
      expect(frame.message).not.toContain(text);
      expect(closed.reason).not.toContain(text);
    }
    expect(await member.request("connects")).toBe(1);
  });

  it.each(["wrong", "banned", "boom"])("drops events sent right after a hello refused for token %s", async (token) => {
    await start();
    const member = await host.connect("guarded", "g", { params: { token: "good" } });
    const socket = await raw.open(host.roomUrl("guarded", "g"));
    socket.send({ t: "hello", v: 1, params: { token } });
    socket.send({ t: "req", id: 1, event: "bump" });
    socket.send({ t: "emit", event: "bump" });
    await socket.closeEvent();
    expect(socket.received.filter((f) => f.t !== "error")).toEqual([]);
    expect(await member.request("bumps")).toBe(0);
    expect(await member.request("bump")).toBe(1);
  });

  it("refuses again on each attempt and never runs onConnect for a refused socket", async () => {
    await start();
    for (const token of ["wrong", "banned", "boom", "wrong"]) await refusedHello({ token });
    const member = await host.connect("guarded", "g", { params: { token: "good" } });
    expect(await member.request("connects")).toBe(1);
  });
});
