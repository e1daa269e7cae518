import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { defineRoom } from "cellar";
import type { TestServer, TestServerOptions } from "cellar/testing";
import { counter } from "./conformance/rooms.js";
import { expectSafeError, RawSocket, useCheckedServer } from "./helpers/raw-socket.js";

// Guarantee 7 against volume: oversized frames close with 1009, floods are refused and then
// closed with 4429 (conformance/bad-input-limits.test.ts). Here: the Node host counts what it
// refused, and no amount of bad input makes it log without bound.

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

describe("refused volume is counted", () => {
  it("an oversized frame in stats().refusedFrames.bad", async () => {
    const { attacker, server } = await start({ maxPayloadBytes: 1024 });
    attacker.send(padded(2048));
    await attacker.closeEvent();
    expect(server.stats().refusedFrames.bad).toBe(1);
  });

  it("each request refused by the rate limit in stats().refusedFrames.rate", async () => {
    // No refill to speak of: the bucket holds `burst` tokens and hello takes one of them.
    const { attacker, server } = await start({ rateLimit: { eventsPerSecond: 0.001, burst: 5 } });
    for (let i = 0; i < 4; i++) expect(await attacker.request("inc")).toMatchObject({ t: "ack" });
    for (let id = 5; id <= 10; id++) attacker.send({ t: "req", id, event: "inc" });
    expect((await attacker.closeEvent()).code).toBe(4429);
    expect(server.stats().refusedFrames.rate).toBe(6);
    const client = await env.current.connect("counter", "b");
    await expect(Promise.all(Array.from({ length: 5 }, () => client.request("inc")))).rejects.toMatchObject({ code: "RATE_LIMITED" });
    expect(server.stats().refusedFrames.rate).toBe(7);
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
