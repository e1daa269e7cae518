import { describe, expect, it } from "vitest";
import type { TestServer, TestServerOptions } from "cellar/testing";
import { guarded } from "./fixtures/bad-input-rooms.js";
import { counter } from "./fixtures/rooms.js";
import { expectNoLeak, RawSocket, SECRETS, upgradeAnswer, useCheckedServer } from "./helpers/raw-socket.js";

// Guarantee 7 at the door: upgrades from foreign origins or to unknown paths are refused
// over HTTP, and `authenticate` refusals close with their documented codes, leaking nothing.

const env = useCheckedServer({ rooms: [counter, guarded] });
const sockets = env.sockets;

async function start(options: Partial<TestServerOptions> = {}): Promise<TestServer> {
  return env.start(options);
}

const forbidden = { status: 403, body: JSON.stringify({ code: "ORIGIN_NOT_ALLOWED" }) };

describe("upgrade origin", () => {
  it("by default lets in same-origin pages and clients without an Origin", async () => {
    await start();
    const url = env.current.server.roomUrl("counter", "a");
    expect((await upgradeAnswer(url, env.current.url)).status).toBe(101);
    expect((await upgradeAnswer(url)).status).toBe(101);
  });

  it.each(["https://evil.example", "http://127.0.0.1:1", "null", "not a url"])(
    "by default refuses origin %s with HTTP 403",
    async (origin) => {
      await start();
      const bystander = await env.current.connect("counter", "a");
      expect(await upgradeAnswer(env.current.server.roomUrl("counter", "a"), origin)).toEqual(forbidden);
      expect(await bystander.request("inc")).toBe(1);
    },
  );

  it("with allowedOrigins, lets in exactly the listed origins", async () => {
    await start({ allowedOrigins: ["https://app.example"] });
    const bystander = await env.current.connect("counter", "a");
    const url = env.current.server.roomUrl("counter", "a");
    expect((await upgradeAnswer(url, "https://app.example")).status).toBe(101);
    expect(await upgradeAnswer(url, env.current.url)).toEqual(forbidden);
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
    const bystander = await env.current.connect("counter", "a");
    const answer = await upgradeAnswer(env.current.url.replace(/^http/, "ws") + path);
    expect(answer).toEqual({ status: 404, body: JSON.stringify({ code: "ROOM_NOT_FOUND" }) });
    expect(await bystander.request("inc")).toBe(1);
  });
});

describe("authenticate refusals", () => {
  /** Says hello with `params` and returns the error frame and close the server answered with. */
  async function refusedHello(params: Record<string, unknown>) {
    const socket = await RawSocket.open(env.current.server.roomUrl("guarded", "g"));
    sockets.push(socket);
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
    const member = await env.current.connect("guarded", "g", { params: { token: "good" } });
    const { frame, closed } = await refusedHello(params);
    expect(frame).toMatchObject({ t: "error", code: "UNAUTHORIZED", message: "Missing or wrong token" });
    expect(closed.code).toBe(4401);
    expect(await member.request("connects")).toBe(1);
  });

  it("closes with 4403 FORBIDDEN when authenticate throws FORBIDDEN", async () => {
    await start();
    const member = await env.current.connect("guarded", "g", { params: { token: "good" } });
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
    const member = await env.current.connect("guarded", "g", { params: { token: "good" } });
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
    const member = await env.current.connect("guarded", "g", { params: { token: "good" } });
    const socket = await RawSocket.open(env.current.server.roomUrl("guarded", "g"));
    sockets.push(socket);
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
    const member = await env.current.connect("guarded", "g", { params: { token: "good" } });
    expect(await member.request("connects")).toBe(1);
  });
});
