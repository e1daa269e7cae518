import { describe, expect, it } from "vitest";
import { next } from "../helpers/client-events.js";
import { useHost } from "./harness.js";

// Room actions: what app code (an HTTP route) runs in an instance, the same call on every
// host (Node's server.call, Cloudflare's cellar.rooms(env).call).

const hosts = useHost();

describe("room actions", () => {
  it("run inside the instance, commit their writes, deliver their emits and return their result", async () => {
    const host = await hosts.start();
    const reader = await host.connect("ledger", "a");
    const heard = next(reader, "added");
    expect(await host.call("ledger", "a", "add", { amount: 5, note: "first" })).toEqual({ total: 5, room: "a" });
    expect(await heard).toEqual({ total: 5 });
    expect(await host.call("ledger", "a", "add", { amount: 2, note: "second" })).toEqual({ total: 7, room: "a" });
    await host.restart();
    expect(await (await host.connect("ledger", "a")).request("read")).toEqual({ total: 7, entries: ["first", "second"] });
    // Instances are apart.
    expect(await host.call("ledger", "b", "add", { amount: 1, note: "b" })).toEqual({ total: 1, room: "b" });
  });

  it("reject with the action's own error code, undo its writes, and hide other errors", async () => {
    const host = await hosts.start();
    await host.call("ledger", "a", "add", { amount: 5, note: "first" });
    await expect(host.call("ledger", "a", "refuse", { amount: 100 })).rejects.toMatchObject({ code: "OVERDRAWN", message: "Not enough in the ledger" });
    const crash = host.call("ledger", "a", "crash");
    await expect(crash).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
    await expect(crash).rejects.not.toMatchObject({ message: expect.stringContaining("internal detail") });
    expect(await (await host.connect("ledger", "a")).request("read")).toEqual({ total: 5, entries: ["first"] });
  });

  it("refuse an unknown action or room kind, and are out of clients' reach", async () => {
    const host = await hosts.start();
    await expect(host.call("ledger", "a", "nope")).rejects.toMatchObject({ code: "UNKNOWN_ACTION" });
    await expect(host.call("nowhere", "a", "add")).rejects.toMatchObject({ code: "ROOM_NOT_FOUND" });
    const client = await host.connect("ledger", "a");
    await expect(client.request("add", { amount: 1, note: "sneaky" })).rejects.toMatchObject({ code: "UNKNOWN_EVENT" });
    expect(await client.request("read")).toEqual({ total: 0, entries: [] });
  });
});
