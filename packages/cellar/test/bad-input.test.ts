import { describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import type { TestServer } from "cellar/testing";
import { counter, settings } from "./conformance/rooms.js";
import { expectSafeError, RawSocket, useCheckedServer } from "./helpers/raw-socket.js";

// Guarantee 7: malformed, binary, unknown and hostile frames get an error frame with a
// documented code and change nothing: conformance/bad-input*.test.ts. These tests need the
// Node host: its refused-frame counters and its room counts.

const env = useCheckedServer({ rooms: [counter, settings] });
const sockets = env.sockets;

/** A counter room with an attacker (raw socket) and a bystander (normal client) in it. */
async function counterRoom(): Promise<{ server: TestServer["server"]; attacker: RawSocket; bystander: CellarClient }> {
  const t = await env.start();
  const attacker = await RawSocket.connect(t.server.roomUrl("counter", "a"));
  sockets.push(attacker);
  const bystander = await t.connect("counter", "a");
  return { server: t.server, attacker, bystander };
}

const inc = (id: number | string) => `{"t":"req","id":${JSON.stringify(id)},"event":"inc","data":{"amount":5}}`;

describe("refused frames", () => {
  it("are counted once each in stats().refusedFrames.bad; harmless look-alikes are not", async () => {
    const { server, attacker, bystander } = await counterRoom();
    const refusals: Array<[string | Uint8Array, string]> = [
      ["inc please", "BAD_FRAME"],
      [inc(1.5), "BAD_FRAME"],
      ['{"t":"req","id":3,"event":"reset"}', "UNKNOWN_EVENT"],
      ['{"t":"emit","event":"reset"}', "UNKNOWN_EVENT"],
      [new TextEncoder().encode(inc(1)), "BINARY_NOT_SUPPORTED"],
      ['{"t":"req","id":5,"event":"inc","data":{"__proto__":{"polluted":"yes"}}}', "FORBIDDEN_KEY"],
    ];
    for (const [i, [frame, code]] of refusals.entries()) {
      if (typeof frame === "string") attacker.send(frame);
      else attacker.sendBinary(frame);
      expect(await attacker.next()).toMatchObject({ t: "error", code });
      expect(server.stats().refusedFrames.bad).toBe(i + 1);
    }
    const neighbour = await RawSocket.connect(server.roomUrl("settings", "s"));
    sockets.push(neighbour);
    const lookAlikes = { protoName: "__proto__", constructorOf: "constructor", prototypes: "prototype" };
    expect(await neighbour.request("settings:merge", lookAlikes)).toMatchObject({ t: "ack" });
    expect(server.stats().refusedFrames.bad).toBe(refusals.length);
    expect(await bystander.request("get")).toEqual({ count: 0, visits: 0 });
  });

  it("are refused without waking a hibernated room", async () => {
    const { server, attacker, bystander } = await counterRoom();
    bystander.close();
    expect(server.hibernate("counter", "a")).toBe(1);
    expect(server.stats().rooms.live).toBe(0);
    attacker.send({ t: "req", id: 1, event: "reset" });
    attacker.send("not json");
    attacker.sendBinary(new Uint8Array([1, 2, 3]));
    attacker.send({ t: "ping" });
    expectSafeError(await attacker.next(), "UNKNOWN_EVENT", { id: 1 });
    expectSafeError(await attacker.next(), "BAD_FRAME");
    expectSafeError(await attacker.next(), "BINARY_NOT_SUPPORTED");
    expect(await attacker.next()).toMatchObject({ t: "pong" });
    expect(server.stats().rooms.live).toBe(0);
    expect(await attacker.request("get")).toMatchObject({ t: "ack", data: { count: 0 } });
    expect(server.stats().rooms.live).toBe(1);
  });
});
