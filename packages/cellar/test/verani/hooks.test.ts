import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "cellar/testing";
import { errorsSeen, HooksActor } from "./fixtures/hooks-room.js";
import { Clients } from "./helpers.js";

/* Verani's room hooks onMessage, onError and onHibernationRestore, through a real server. */

const clients = new Clients();
let server: TestServer | undefined;

afterEach(async () => {
  clients.closeAll();
  await server?.close();
  server = undefined;
});

describe("Verani room hooks on Cellar", () => {
  it("onMessage receives the events that have no handler of their own", async () => {
    server = await startTestServer({ rooms: [HooksActor] });
    const a = clients.make(server.url, "/ws/hooks", ["echo", "counted"]);
    a.client.emit("anything:else", { x: 1 });
    a.client.emit("count", {});
    expect(await a.next("echo")).toEqual({ type: "anything:else", data: { x: 1 } });
    expect(await a.next("counted")).toEqual({ count: 1 });
    expect(a.received.filter((r) => r.event === "echo")).toHaveLength(1);
  });

  it("onError sees what a handler threw; the handler's writes roll back and the sender gets an error frame", async () => {
    server = await startTestServer({ rooms: [HooksActor] });
    const a = clients.make(server.url, "/ws/hooks?userId=ana", ["counted"]);
    const failed = new Promise<{ code: string }>((resolve) => a.client.cellar.on("$error", resolve));
    a.client.emit("boom", {});
    expect((await failed).code).toBe("HANDLER_ERROR");
    expect(errorsSeen).toContain("ana: boom");
    a.client.emit("count", {});
    expect(await a.next("counted")).toEqual({ count: 1 });
  });

  it("onHibernationRestore runs with the actor when the room comes back after a hibernation", async () => {
    server = await startTestServer({ rooms: [HooksActor] });
    const a = clients.make(server.url, "/ws/hooks", ["counted", "restored"]);
    a.client.emit("count", {});
    await a.next("counted");
    expect(server.server.hibernate()).toBeGreaterThan(0);
    a.client.emit("count", {});
    expect(await a.next("restored")).toEqual({ count: 1 });
    expect(await a.next("counted")).toEqual({ count: 2 });
  });
});
