import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { defineRoom } from "cellar";
import type { TestServer, TestServerOptions } from "cellar/testing";
import { counter } from "./fixtures/rooms.js";
import { expectSafeError, type Frame, RawSocket, useCheckedServer } from "./helpers/raw-socket.js";

// Guarantee 7 against volume: oversized frames close with 1009, floods are refused and then
// closed with 4429, and no amount of bad input makes the server log without bound.

const env = useCheckedServer({ rooms: [counter] });
const sockets = env.sockets;

async function start(options: Partial<TestServerOptions> = {}): Promise<{ attacker: RawSocket; server: TestServer["server"] }> {
  const t = await env.start(options);
  const attacker = await RawSocket.connect(t.server.roomUrl("counter", "a"));
  sockets.push(attacker);
  return { attacker, server: t.server };
}

/** A request frame of about `bytes` bytes. */
const padded = (bytes: number, id = 1) => {
  const frame = `{"t":"req","id":${id},"event":"inc","data":{"amount":5,"pad":""}}`;
  return frame.replace('"pad":""', `"pad":"${"x".repeat(bytes - frame.length)}"`);
};

describe("oversized frames", () => {
  it("closes with 1009 for a frame over maxPayloadBytes, without running it", async () => {
    const { attacker } = await start({ maxPayloadBytes: 1024 });
    const bystander = await env.current.connect("counter", "a");
    expect(await attacker.request("inc", { pad: "x".repeat(900) })).toMatchObject({ t: "ack", data: 1 });
    attacker.send(padded(1025));
    expect((await attacker.closeEvent()).code).toBe(1009);
    expect(await bystander.request("get")).toEqual({ count: 1, visits: 0 });
  });

  it("closes with 1009 for an oversized frame before hello", async () => {
    const t = await env.start({ maxPayloadBytes: 1024 });
    const socket = await RawSocket.open(t.server.roomUrl("counter", "a"));
    sockets.push(socket);
    socket.send("x".repeat(5000));
    expect((await socket.closeEvent()).code).toBe(1009);
    const bystander = await t.connect("counter", "a");
    expect(await bystander.request("get")).toEqual({ count: 0, visits: 0 });
  });

  it("accepts 1 MiB by default and closes with 1009 above it", async () => {
    const { attacker } = await start();
    const bystander = await env.current.connect("counter", "a");
    attacker.send(padded(1024 * 1024, 1));
    expect(await attacker.answerTo(1)).toMatchObject({ t: "ack", data: 5 });
    attacker.send(padded(1024 * 1024 + 1, 2));
    expect((await attacker.closeEvent()).code).toBe(1009);
    expect(await bystander.request("get")).toEqual({ count: 5, visits: 0 });
  });

  it("counts an oversized frame in stats().refusedFrames.bad", async () => {
    const { attacker, server } = await start({ maxPayloadBytes: 1024 });
    attacker.send(padded(2048));
    await attacker.closeEvent();
    expect(server.stats().refusedFrames.bad).toBe(1);
  });
});

describe("floods", () => {
  // No refill to speak of: the bucket holds `burst` tokens and hello takes one of them.
  const rateLimit = { eventsPerSecond: 0.001, burst: 5 };

  it("refuses requests beyond the burst with RATE_LIMITED and their ids, then closes with 4429", async () => {
    const { attacker, server } = await start({ rateLimit });
    const bystander = await env.current.connect("counter", "a");
    for (let i = 0; i < 4; i++) expect(await attacker.request("inc")).toMatchObject({ t: "ack" });
    for (let id = 5; id <= 10; id++) attacker.send({ t: "req", id, event: "inc" });
    const closed = await attacker.closeEvent();
    expect(closed.code).toBe(4429);
    const errors = attacker.received.filter((f): f is Frame => f.t === "error");
    for (const [i, id] of [5, 6, 7, 8, 9].entries()) expectSafeError(errors[i]!, "RATE_LIMITED", { id });
    expect(errors).toHaveLength(6);
    expectSafeError(errors[5]!, "RATE_LIMITED");
    expect(server.stats().refusedFrames.rate).toBe(6);
    expect(await bystander.request("get")).toEqual({ count: 4, visits: 0 });
  });

  it("fails a client's request at once with RATE_LIMITED", async () => {
    const t = await env.start({ rateLimit: { eventsPerSecond: 0.001, burst: 3 } });
    const client = await t.connect("counter", "a");
    const answers = await Promise.allSettled([client.request("inc"), client.request("inc"), client.request("inc")]);
    expect(answers.map((a) => a.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect(answers[2]).toMatchObject({ reason: { code: "RATE_LIMITED" } });
    expect(t.server.stats().refusedFrames.rate).toBe(1);
  });

  it("limits each connection on its own: a flooder does not slow others down", async () => {
    const { attacker } = await start({ rateLimit });
    const others = [await env.current.connect("counter", "a"), await env.current.connect("counter", "b")];
    for (let id = 1; id <= 20; id++) attacker.send({ t: "req", id, event: "visit" });
    expect((await attacker.closeEvent()).code).toBe(4429);
    for (const other of others) expect(await other.request("inc")).toBeGreaterThan(0);
  });
});

describe("logging under attack", () => {
  /** A logger that keeps its lines; `loud()` counts those at warn level or above. */
  function capturedLogger() {
    const lines: Array<{ level: number }> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    return { logger, loud: () => lines.filter((line) => line.level >= 40).length };
  }

  it("logs a bounded number of lines whatever the number of bad frames", async () => {
    const { logger, loud } = capturedLogger();
    const { attacker } = await start({ logger, rateLimit: { eventsPerSecond: 1e6, burst: 1e6 } });
    for (let i = 0; i < 300; i++) {
      attacker.send("not json");
      attacker.send({ t: "req", id: 10_000 + i, event: `nope-${i}` });
      attacker.sendBinary(new Uint8Array([i & 255]));
      attacker.send(`{"t":"emit","event":"inc","data":{"__proto__":{}}}`);
      attacker.send({ t: "req", id: 20_000 + i, event: "crash" });
    }
    expect(await attacker.answerTo(20_299)).toMatchObject({ code: "HANDLER_ERROR" });
    expect(await attacker.request("get")).toMatchObject({ t: "ack", data: { count: 0 } });
    expect(loud()).toBeLessThanOrEqual(10);
  });

  it("logs a bounded number of lines when a '*' handler fails on many event names", async () => {
    const relay = defineRoom({ name: "relay", state: {} });
    relay.on("*", () => {
      throw new TypeError("secret internal detail");
    });
    const { logger, loud } = capturedLogger();
    const t = await env.start({ rooms: [relay], logger, rateLimit: { eventsPerSecond: 1e6, burst: 1e6 } });
    const attacker = await RawSocket.connect(t.server.roomUrl("relay", "r"));
    sockets.push(attacker);
    for (let id = 1; id <= 300; id++) attacker.send({ t: "req", id, event: `event-${id}` });
    expectSafeError(await attacker.answerTo(300), "HANDLER_ERROR", { id: 300 });
    expect(loud()).toBeLessThanOrEqual(20);
  });
});
