import { describe, expect, it } from "vitest";
import type { TestServer, TestServerOptions } from "cellar/testing";
import { guarded } from "./fixtures/bad-input-rooms.js";
import { counter } from "./fixtures/rooms.js";
import { expectNoLeak, expectSafeError, type Frame, RawSocket, useCheckedServer } from "./helpers/raw-socket.js";

// Guarantee 7 for the handshake: a socket must say `hello` in the right version, once, and
// in time; otherwise it is told why and closed, and nobody else notices.

const env = useCheckedServer({ rooms: [counter, guarded] });
const sockets = env.sockets;

async function start(options: Partial<TestServerOptions> = {}): Promise<TestServer> {
  return env.start(options);
}

async function open(kind = "counter", id = "a"): Promise<RawSocket> {
  const socket = await RawSocket.open(env.current.server.roomUrl(kind, id));
  sockets.push(socket);
  return socket;
}

function expectRefusal(frame: Frame, code: string): void {
  expect(frame).toMatchObject({ t: "error", code });
  expectNoLeak(frame);
}

describe("frames before hello", () => {
  it.each([
    ["a request", { t: "req", id: 1, event: "inc", data: { amount: 5 } }],
    ["an emit", { t: "emit", event: "inc", data: { amount: 5 } }],
  ])("closes with 4400 HANDSHAKE_REQUIRED on %s, without running it", async (_name, frame) => {
    await start();
    const bystander = await env.current.connect("counter", "a");
    const early = await open();
    early.send(frame);
    expectRefusal(await early.next(), "HANDSHAKE_REQUIRED");
    expect((await early.closeEvent()).code).toBe(4400);
    expect(await bystander.request("get")).toEqual({ count: 0, visits: 0 });
  });

  it("answers a ping before hello, then completes the handshake", async () => {
    await start();
    const socket = await open();
    socket.send({ t: "ping" });
    expect(await socket.next()).toEqual({ t: "pong" });
    socket.send({ t: "hello", v: 1 });
    expect(await socket.next()).toMatchObject({ t: "welcome", v: 1 });
    expect(await socket.request("inc")).toMatchObject({ t: "ack", data: 1 });
  });

  it("refuses a hello with malformed params and still accepts a good one", async () => {
    await start();
    const socket = await open();
    socket.send({ t: "hello", v: 1, params: ["token"] });
    expectSafeError(await socket.next(), "BAD_FRAME");
    socket.send({ t: "hello", v: 1 });
    expect(await socket.next()).toMatchObject({ t: "welcome", v: 1 });
  });
});

describe("protocol version", () => {
  it.each([0, 2, 1.5, 999])("closes with 4400 UNSUPPORTED_VERSION for version %s", async (v) => {
    await start();
    const bystander = await env.current.connect("counter", "a");
    const socket = await open();
    socket.send({ t: "hello", v });
    expectRefusal(await socket.next(), "UNSUPPORTED_VERSION");
    expect((await socket.closeEvent()).code).toBe(4400);
    expect(await bystander.request("inc")).toBe(1);
  });
});

describe("handshake timeout", () => {
  it("closes a silent socket with 4408 HANDSHAKE_TIMEOUT and keeps the others", async () => {
    await start({ handshakeTimeoutMs: 150 });
    const bystander = await env.current.connect("counter", "a");
    const greeted = await RawSocket.connect(env.current.server.roomUrl("counter", "a"));
    sockets.push(greeted);
    const silent = await open();
    expectRefusal(await silent.next(), "HANDSHAKE_TIMEOUT");
    expect((await silent.closeEvent()).code).toBe(4408);
    // Both sockets that said hello are older than the silent one: their timers have passed.
    expect(await greeted.request("inc")).toMatchObject({ t: "ack", data: 1 });
    expect(await bystander.request("inc")).toBe(2);
  });
});

describe("a second hello", () => {
  it("is refused with BAD_FRAME and leaves the session as it was", async () => {
    await start();
    const socket = await RawSocket.connect(env.current.server.roomUrl("guarded", "g"), { token: "good" });
    sockets.push(socket);
    socket.send({ t: "hello", v: 1, params: { token: "good" } });
    expectSafeError(await socket.next(), "BAD_FRAME");
    expect(await socket.request("connects")).toMatchObject({ t: "ack", data: 1 });
  });

  it("sent right after the first one gets exactly one welcome", async () => {
    await start();
    const socket = await open("guarded", "g");
    socket.send({ t: "hello", v: 1, params: { token: "good" } });
    socket.send({ t: "hello", v: 1, params: { token: "good" } });
    const answers = [await socket.next(), await socket.next()];
    expect(answers.filter((f) => f.t === "welcome")).toHaveLength(1);
    const errors = answers.filter((f) => f.t === "error");
    expect(errors).toHaveLength(1);
    expectSafeError(errors[0]!, "BAD_FRAME");
    expect(await socket.request("connects")).toMatchObject({ t: "ack", data: 1 });
  });
});

describe("refused-frame counting", () => {
  it("counts frames refused during the handshake in stats().refusedFrames.bad", async () => {
    await start();
    const early = await open();
    early.send({ t: "req", id: 1, event: "inc" });
    await early.closeEvent();
    const twice = await RawSocket.connect(env.current.server.roomUrl("counter", "a"));
    sockets.push(twice);
    twice.send({ t: "hello", v: 1 });
    expectSafeError(await twice.next(), "BAD_FRAME");
    expect(env.current.server.stats().refusedFrames.bad).toBe(2);
  });
});
