import { describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import { next } from "../helpers/client-events.js";
import { useHost } from "./harness.js";

const hosts = useHost();

/** Frames each client receives; `settle()` makes sure everything sent so far has arrived. */
function inbox(clients: CellarClient[]) {
  const got = clients.map(() => [] as string[]);
  clients.forEach((c, i) => c.on("msg", (m: { how: string }) => got[i]!.push(m.how)));
  return { got, settle: () => Promise.all(clients.map((c) => c.request("whoami"))) };
}

describe("ctx.emit targets", () => {
  it("reply, channel, connection, user, and broadcast with except", async () => {
    const host = await hosts.start();
    const [ana, ana2, bo, cy] = await Promise.all(["ana", "ana", "bo", "cy"].map((user) => host.connect("hall", "h", { params: { user } })));
    const { got, settle } = inbox([ana!, ana2!, bo!, cy!]);
    await bo!.request("join", "red");
    await cy!.request("join", "red");
    await cy!.request("leave", "red");

    await ana!.request("send", { how: "reply" });
    await ana!.request("send", { how: "channel", to: "red" });
    await ana!.request("send", { how: "connection", to: cy!.connectionId });
    await bo!.request("send", { how: "user", to: "ana" });
    await ana!.request("send", { how: "broadcast", except: bo!.connectionId });
    await settle();
    expect(got).toEqual([["reply", "user", "broadcast"], ["user", "broadcast"], ["channel"], ["connection", "broadcast"]]);
  });

  it("volatile emits are delivered; data that is not JSON fails the handler", async () => {
    const host = await hosts.start();
    const ana = await host.connect("hall", "v", { params: { user: "ana" } });
    const { got, settle } = inbox([ana]);
    await ana.request("send", { how: "volatile" });
    await expect(ana.request("send", { how: "bigint" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await settle();
    expect(got).toEqual([["volatile"]]);
  });

  it("connection.close closes after the handler's frames and its ack were sent", async () => {
    const host = await hosts.start();
    const ana = await host.connect("hall", "k", { params: { user: "ana" } });
    const { got } = inbox([ana]);
    const closed = next(ana, "$close");
    // The ack still reaches the sender: it goes out before the close.
    await ana.request("kick");
    expect(await closed).toEqual({ code: 4000, reason: "kicked", final: true });
    expect(got).toEqual([["bye"]]);
  });

  it('the "*" handler receives events without a handler of their own, with ctx.event', async () => {
    const host = await hosts.start();
    const ana = await host.connect("hall", "star", { params: { user: "ana" } });
    expect(await ana.request("anything:else", { x: 1 })).toEqual({ caught: "anything:else", data: { x: 1 } });
  });
});
