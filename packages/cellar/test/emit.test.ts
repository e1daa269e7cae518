import { afterEach, describe, expect, it } from "vitest";
import { defineRoom } from "cellar";
import type { CellarClient } from "cellar/client";
import { startTestServer, type TestServer } from "cellar/testing";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const hall = defineRoom({
  name: "hall",
  state: {},
  authenticate: (_request, ctx) => ({ userId: String(ctx.params.user) }),
});
hall.on("join", (ctx, channel) => void ctx.connection.join(String(channel)));
hall.on("leave", (ctx, channel) => void ctx.connection.leave(String(channel)));
hall.on("whoami", (ctx) => ctx.connection.id);
hall.on("send", (ctx, data) => {
  const { how, to, except } = data as { how: string; to?: string; except?: string };
  const message = { how };
  if (how === "reply") ctx.emit.reply("msg", message);
  if (how === "channel") ctx.emit.to(to!).emit("msg", message);
  if (how === "connection") ctx.emit.toConnection(to!).emit("msg", message);
  if (how === "user") ctx.emit.toUser(to!).emit("msg", message);
  if (how === "broadcast") ctx.emit.broadcast("msg", message, except ? { except } : undefined);
  if (how === "volatile") ctx.emit.broadcast("msg", message, { volatile: true });
  if (how === "bigint") ctx.emit.reply("msg", { n: 1n });
});
hall.on("kick", (ctx) => {
  ctx.emit.reply("msg", { how: "bye" });
  ctx.connection.close(4000, "kicked");
});
hall.on("*", (ctx, data) => ({ caught: ctx.event, data }));

/** Frames each client receives; `settle()` makes sure everything sent so far has arrived. */
function inbox(clients: CellarClient[]) {
  const got = clients.map(() => [] as string[]);
  clients.forEach((c, i) => c.on("msg", (m: { how: string }) => got[i]!.push(m.how)));
  return { got, settle: () => Promise.all(clients.map((c) => c.request("whoami"))) };
}

describe("ctx.emit targets", () => {
  it("reply, channel, connection, user, and broadcast with except", async () => {
    t = await startTestServer({ rooms: [hall] });
    const [ana, ana2, bo, cy] = await Promise.all([
      t.connect("hall", "h", { params: { user: "ana" } }),
      t.connect("hall", "h", { params: { user: "ana" } }),
      t.connect("hall", "h", { params: { user: "bo" } }),
      t.connect("hall", "h", { params: { user: "cy" } }),
    ]);
    const { got, settle } = inbox([ana, ana2, bo, cy]);
    await bo.request("join", "red");
    await cy.request("join", "red");
    await cy.request("leave", "red");

    await ana.request("send", { how: "reply" });
    await ana.request("send", { how: "channel", to: "red" });
    await ana.request("send", { how: "connection", to: cy.connectionId });
    await bo.request("send", { how: "user", to: "ana" });
    await ana.request("send", { how: "broadcast", except: bo.connectionId });
    await settle();
    expect(got).toEqual([
      ["reply", "user", "broadcast"],
      ["user", "broadcast"],
      ["channel"],
      ["connection", "broadcast"],
    ]);
  });

  it("volatile emits are delivered; data that is not JSON fails the handler", async () => {
    t = await startTestServer({ rooms: [hall] });
    const ana = await t.connect("hall", "v", { params: { user: "ana" } });
    const { got, settle } = inbox([ana]);
    await ana.request("send", { how: "volatile" });
    await expect(ana.request("send", { how: "bigint" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await settle();
    expect(got).toEqual([["volatile"]]);
  });

  it("connection.close closes after the handler's frames and its ack were sent", async () => {
    t = await startTestServer({ rooms: [hall] });
    const ana = await t.connect("hall", "k", { params: { user: "ana" } });
    const { got } = inbox([ana]);
    const closed = new Promise((resolve) => ana.once("$close", resolve));
    // The ack still reaches the sender: it goes out before the close.
    await ana.request("kick");
    expect(await closed).toEqual({ code: 4000, reason: "kicked", final: true });
    expect(got).toEqual([["bye"]]);
  });
});

describe('the "*" handler', () => {
  it("receives events without a handler of their own, with ctx.event", async () => {
    t = await startTestServer({ rooms: [hall] });
    const ana = await t.connect("hall", "star", { params: { user: "ana" } });
    expect(await ana.request("anything:else", { x: 1 })).toEqual({ caught: "anything:else", data: { x: 1 } });
  });
});
