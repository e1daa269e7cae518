import { describe, expect, it } from "vitest";
import { expectNoLeak, expectSafeError, type Frame } from "../helpers/raw-socket.js";
import { hostName, useHost, type ConformanceHost, type HostConfig } from "./harness.js";
import { useRawSockets } from "./raw.js";

// Guarantee 7 for the handshake: a socket must say `hello` in the right version, once, and
// in time; otherwise it is told why and closed, and nobody else notices.

const hosts = useHost();
const raw = useRawSockets();
let host: ConformanceHost;

async function start(config: HostConfig = {}): Promise<ConformanceHost> {
  host = await hosts.start(config);
  return host;
}

/** A socket to `kind`/`id` that has not said hello. */
function open(kind = "counter", id = "a") {
  return raw.open(host.roomUrl(kind, id));
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
    const bystander = await host.connect("counter", "a");
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
    const bystander = await host.connect("counter", "a");
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
    const bystander = await host.connect("counter", "a");
    const greeted = await raw.connect(host.roomUrl("counter", "a"));
    const silent = await open();
    expectRefusal(await silent.next(), "HANDSHAKE_TIMEOUT");
    // workerd sends the close frame at once but ends the TCP connection of a close made
    // outside an event (here a timer) only when it evicts the object, ~10 s later; `ws`
    // reports the close then (docs/cloudflare.md, "What is identical and what differs").
    expect((await silent.closeEvent(hostName === "workerd" ? 20_000 : undefined)).code).toBe(4408);
    // Both sockets that said hello are older than the silent one: their timers have passed.
    expect(await greeted.request("inc")).toMatchObject({ t: "ack", data: 1 });
    expect(await bystander.request("inc")).toBe(2);
  });
});

describe("a second hello", () => {
  it("is refused with BAD_FRAME and leaves the session as it was", async () => {
    await start();
    const socket = await raw.connect(host.roomUrl("guarded", "g"), { token: "good" });
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
