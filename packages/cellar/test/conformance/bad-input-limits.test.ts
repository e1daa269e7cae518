import { describe, expect, it } from "vitest";
import { expectSafeError, type Frame } from "../helpers/raw-socket.js";
import { useHost } from "./harness.js";
import { useRawSockets } from "./raw.js";

// Guarantee 7 against volume: oversized frames close with 1009, floods are refused and then
// closed with 4429.

const hosts = useHost();
const raw = useRawSockets();

/** A request frame of about `bytes` bytes. */
const padded = (bytes: number, id = 1) => {
  const frame = `{"t":"req","id":${id},"event":"inc","data":{"amount":5,"pad":""}}`;
  return frame.replace('"pad":""', `"pad":"${"x".repeat(bytes - frame.length)}"`);
};

describe("oversized frames", () => {
  it("closes with 1009 for a frame over maxPayloadBytes, without running it, also before hello", async () => {
    const host = await hosts.start({ maxPayloadBytes: 1024 });
    const attacker = await raw.connect(host.roomUrl("counter", "a"));
    const bystander = await host.connect("counter", "a");
    expect(await attacker.request("inc", { pad: "x".repeat(900) })).toMatchObject({ t: "ack", data: 1 });
    attacker.send(padded(1025));
    expect((await attacker.closeEvent()).code).toBe(1009);
    const early = await raw.open(host.roomUrl("counter", "a"));
    early.send("x".repeat(5000));
    expect((await early.closeEvent()).code).toBe(1009);
    expect(await bystander.request("get")).toEqual({ count: 1, visits: 0 });
  });

  it("accepts 1 MiB by default and closes with 1009 above it", async () => {
    const host = await hosts.start();
    const attacker = await raw.connect(host.roomUrl("counter", "a"));
    const bystander = await host.connect("counter", "a");
    attacker.send(padded(1024 * 1024, 1));
    expect(await attacker.answerTo(1)).toMatchObject({ t: "ack", data: 5 });
    attacker.send(padded(1024 * 1024 + 1, 2));
    expect((await attacker.closeEvent()).code).toBe(1009);
    expect(await bystander.request("get")).toEqual({ count: 5, visits: 0 });
  });
});

describe("floods", () => {
  // No refill to speak of: the bucket holds `burst` tokens and hello takes one of them.
  const rateLimit = { eventsPerSecond: 0.001, burst: 5 };

  it("refuses requests beyond the burst with RATE_LIMITED and their ids, then closes with 4429; others are not slowed", async () => {
    const host = await hosts.start({ rateLimit });
    const attacker = await raw.connect(host.roomUrl("counter", "a"));
    const bystander = await host.connect("counter", "a");
    const elsewhere = await host.connect("counter", "b");
    for (let i = 0; i < 4; i++) expect(await attacker.request("inc")).toMatchObject({ t: "ack" });
    for (let id = 5; id <= 10; id++) attacker.send({ t: "req", id, event: "inc" });
    expect((await attacker.closeEvent()).code).toBe(4429);
    const errors = attacker.received.filter((f): f is Frame => f.t === "error");
    for (const [i, id] of [5, 6, 7, 8, 9].entries()) expectSafeError(errors[i]!, "RATE_LIMITED", { id });
    expect(errors).toHaveLength(6);
    expectSafeError(errors[5]!, "RATE_LIMITED");
    expect(await bystander.request("get")).toEqual({ count: 4, visits: 0 });
    expect(await bystander.request("inc")).toBe(5);
    expect(await elsewhere.request("inc")).toBe(1);
  });

  it("fails a client's request at once with RATE_LIMITED", async () => {
    const host = await hosts.start({ rateLimit: { eventsPerSecond: 0.001, burst: 3 } });
    const client = await host.connect("counter", "a");
    const answers = await Promise.allSettled([client.request("inc"), client.request("inc"), client.request("inc")]);
    expect(answers.map((a) => a.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect(answers[2]).toMatchObject({ reason: { code: "RATE_LIMITED" } });
  });
});
