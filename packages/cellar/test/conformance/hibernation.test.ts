import { describe, expect, it } from "vitest";
import { next } from "../helpers/client-events.js";
import { useHost } from "./harness.js";
import { describeValue, everyKind } from "./rooms.js";
import { script } from "./script.js";

// One forced hibernation (about 11 s on workerd) checked from every side: rooms with
// sockets that stayed open, rooms whose clients left, storage, SQL and persisted state.

const hosts = useHost();

describe("hibernation (guarantee 4)", () => {
  it("state, per-user state, meta, channels, storage and SQL survive; onHibernationRestore runs; a pinging client stays open", async () => {
    const host = await hosts.start();
    const ana = await host.connect("lobby", "main", { params: { user: "ana" }, pingIntervalMs: 50 });
    const di = await host.connect("lobby", "main", { params: { user: "di" } });
    await ana.request("setup", { topic: "Rioja", nick: "Ana" });
    const meta = { userId: "ana", role: "guest" };
    expect(await ana.request("look")).toEqual({ topic: "Rioja", seen: 1, nick: "Ana", typing: true, meta, channels: ["regulars"] });
    // Eve leaves before the room hibernates; her persisted connection state stays.
    const eve = await host.connect("lobby", "main", { params: { user: "eve" } });
    await eve.request("setup", { topic: "Tokaj", nick: "Eve" });
    eve.close();
    await ana.request("setup", { topic: "Rioja", nick: "Ana" });

    // Meta larger than a socket attachment (2,048 bytes on Cloudflare) survives too.
    const bio = "Wine lover. ".repeat(250);
    const gus = await host.connect("lobby", "main", { params: { user: "gus", bio } });

    const vault = await host.connect("vault", "v");
    await vault.request("store");
    // Instance "a" hibernates with no client (its client left); "b" with its client connected.
    const left = await host.connect("box", "a");
    await script(left)(["putKind", "v"], ["sql", "CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3)"]);
    left.close();
    const stayed = await host.connect("box", "b");
    await script(stayed)(["sql", "CREATE TABLE t (x)"], ["sql", "INSERT INTO t VALUES (?)", "warm"]);

    await host.hibernateAll();

    // Pings did not keep the room awake (onHibernationRestore ran below), nor did the
    // socket close: the client is open and works.
    expect(ana.state).toBe("open");
    const heard = next(ana, "shouted");
    await di.request("shout", { text: "Prost" });
    expect(await heard).toEqual({ text: "Prost" });
    // Persisted keys are intact, the others start over; meta and channels stayed with the socket.
    expect(await ana.request("look")).toEqual({ topic: "Rioja", seen: 0, nick: "Ana", typing: false, meta, channels: ["regulars"] });
    expect(await ana.request("hooks")).toEqual(["create", "restore"]);
    expect(await gus.request("look")).toMatchObject({ meta: { userId: "gus", role: "guest", bio } });

    const eveAgain = await host.connect("lobby", "main", { params: { user: "eve" } });
    expect(await eveAgain.request("look")).toMatchObject({ nick: "Eve", typing: false });
    const stranger = await host.connect("lobby", "main", { params: { user: "fay" } });
    expect(await stranger.request("look")).toMatchObject({ nick: "" });

    expect(await vault.request("check")).toEqual({ value: describeValue(everyKind()), scratch: 0 });
    expect(await script(await host.connect("box", "a"))(["describe", "v"], ["one", "SELECT count(*) AS n FROM t"])).toEqual([describeValue(everyKind()), { n: 3 }]);
    expect(await script(stayed)(["one", "SELECT x FROM t"])).toEqual([{ x: "warm" }]);
  });
});
