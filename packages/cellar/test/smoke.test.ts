import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "cellar/testing";
import { counter } from "./conformance/rooms.js";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("smoke", () => {
  it("round-trips a request and broadcasts", async () => {
    t = await startTestServer({ rooms: [counter] });
    const a = await t.connect("counter", "one");
    const b = await t.connect("counter", "one");
    const seen = new Promise((resolve) => b.once("count", resolve));
    expect(await a.request("inc", { amount: 2 })).toBe(2);
    expect(await seen).toEqual({ count: 2 });
    await expect(a.request("fail")).rejects.toMatchObject({ code: "NOPE" });
    await expect(a.request("crash")).rejects.toMatchObject({ code: "HANDLER_ERROR" });
    await expect(a.request("nope")).rejects.toMatchObject({ code: "UNKNOWN_EVENT" });
  });
});
