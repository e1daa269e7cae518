import { describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import { expectSafeError, type RawSocket } from "../helpers/raw-socket.js";
import { useHost, type ConformanceHost } from "./harness.js";
import { useRawSockets } from "./raw.js";

// Guarantee 7: malformed, binary and unknown frames get an error frame with a documented
// code; the connection, the room's state and every other client are unharmed.

const hosts = useHost();
const raw = useRawSockets();

/** A counter room with an attacker (raw socket) and a bystander (normal client) in it. */
async function counterRoom(): Promise<{ host: ConformanceHost; attacker: RawSocket; bystander: CellarClient }> {
  const host = await hosts.start();
  const attacker = await raw.connect(host.roomUrl("counter", "a"));
  const bystander = await host.connect("counter", "a");
  return { host, attacker, bystander };
}

/** The attacker's connection still answers, and so does everyone else; the count is `count`. */
async function expectUnharmed(host: ConformanceHost, attacker: RawSocket, bystander: CellarClient, count = 0): Promise<void> {
  expect(await attacker.request("get")).toMatchObject({ t: "ack", data: { count } });
  expect(await bystander.request("get")).toEqual({ count, visits: 0 });
  const newcomer = await raw.connect(host.roomUrl("counter", "a"));
  expect(await newcomer.request("get")).toMatchObject({ t: "ack", data: { count } });
}

const inc = (id: number | string) => `{"t":"req","id":${JSON.stringify(id)},"event":"inc","data":{"amount":5}}`;

describe("malformed frames", () => {
  const cases: Array<[string, string, number | undefined]> = [
    ["text that is not JSON", "inc please", undefined],
    ["truncated JSON", inc(7).slice(0, -2), undefined],
    ["a JSON number", "42", undefined],
    ["a JSON string", JSON.stringify(inc(7)), undefined],
    ["JSON null", "null", undefined],
    ["a JSON array of frames", `[${inc(7)}]`, undefined],
    ["an object without `t`", '{"event":"inc","data":{"amount":5}}', undefined],
    ["an unknown frame type", '{"t":"increment","event":"inc"}', undefined],
    ["an emit without an event name", '{"t":"emit","data":{"amount":5}}', undefined],
    ["an event name that is a number", '{"t":"req","id":7,"event":42}', 7],
    ["an empty event name", '{"t":"req","id":7,"event":""}', 7],
    ["an event name of 129 characters", JSON.stringify({ t: "req", id: 7, event: "i".repeat(129) }), 7],
    ["a request without an id", '{"t":"req","event":"inc"}', undefined],
    ["a negative request id", inc(-1), undefined],
    ["a fractional request id", inc(1.5), undefined],
    ["a string request id", inc("7"), undefined],
    ["a request id beyond 2^53", inc(1e300), undefined],
    ["a hello with a string version", '{"t":"hello","v":"1"}', undefined],
  ];

  it("refuses each with BAD_FRAME and changes nothing", async () => {
    const { host, attacker, bystander } = await counterRoom();
    for (const [name, text, id] of cases) {
      attacker.send(text);
      const frame = await attacker.next();
      expect(frame, name).toMatchObject({ t: "error", code: "BAD_FRAME" });
      expectSafeError(frame, "BAD_FRAME", id === undefined ? {} : { id });
    }
    await expectUnharmed(host, attacker, bystander);
  });

  it("keeps serving valid frames sent around malformed ones", async () => {
    const { host, attacker, bystander } = await counterRoom();
    attacker.send(inc(1));
    attacker.send("{nope");
    attacker.send(inc(2));
    // A refusal may be answered at once, before the room (and its commit) answers earlier frames.
    const frames = [await attacker.next(), await attacker.next(), await attacker.next(), await attacker.next(), await attacker.next()];
    expect(frames.filter((f) => f.t === "ack")).toMatchObject([
      { t: "ack", id: 1, data: 5 },
      { t: "ack", id: 2, data: 10 },
    ]);
    const errors = frames.filter((f) => f.t === "error");
    expect(errors).toHaveLength(1);
    expectSafeError(errors[0]!, "BAD_FRAME");
    await expectUnharmed(host, attacker, bystander, 10);
  });
});

describe("unknown events", () => {
  it("answers a request for an unknown event with UNKNOWN_EVENT and its id, an emit with UNKNOWN_EVENT naming the event", async () => {
    const { host, attacker, bystander } = await counterRoom();
    attacker.send({ t: "req", id: 3, event: "reset", data: { count: 99 } });
    expectSafeError(await attacker.next(), "UNKNOWN_EVENT", { id: 3 });
    attacker.send({ t: "emit", event: "reset" });
    expectSafeError(await attacker.next(), "UNKNOWN_EVENT", { event: "reset" });
    await expectUnharmed(host, attacker, bystander);
  });

  it("does not mistake names of Object.prototype for handlers", async () => {
    const { host, attacker, bystander } = await counterRoom();
    for (const event of ["__proto__", "constructor", "toString", "hasOwnProperty", "i".repeat(128)]) {
      attacker.send({ t: "req", id: 4, event });
      expectSafeError(await attacker.next(), "UNKNOWN_EVENT", { id: 4 });
    }
    await expectUnharmed(host, attacker, bystander);
  });
});

describe("binary frames", () => {
  it("refuses random bytes, and a valid request sent as bytes, with BINARY_NOT_SUPPORTED, without running it", async () => {
    const { host, attacker, bystander } = await counterRoom();
    attacker.sendBinary(new Uint8Array([0, 255, 7, 0xc3, 0x28]));
    expectSafeError(await attacker.next(), "BINARY_NOT_SUPPORTED");
    attacker.sendBinary(new TextEncoder().encode(inc(1)));
    expectSafeError(await attacker.next(), "BINARY_NOT_SUPPORTED");
    await expectUnharmed(host, attacker, bystander);
  });
});

describe("handler failures", () => {
  it("answers an internal exception with HANDLER_ERROR and none of its text", async () => {
    const { host, attacker, bystander } = await counterRoom();
    attacker.send({ t: "req", id: 9, event: "crash" });
    expectSafeError(await attacker.next(), "HANDLER_ERROR", { id: 9 });
    attacker.send({ t: "emit", event: "crash" });
    expectSafeError(await attacker.next(), "HANDLER_ERROR", { event: "crash" });
    await expectUnharmed(host, attacker, bystander);
  });

  it("passes a CellarError the room chose to throw through unchanged", async () => {
    const { host, attacker, bystander } = await counterRoom();
    attacker.send({ t: "req", id: 9, event: "fail" });
    const frame = await attacker.next();
    expectSafeError(frame, "NOPE", { id: 9 });
    expect(frame.message).toBe("refused on purpose");
    await expectUnharmed(host, attacker, bystander);
  });
});
