import { afterEach, describe, expect, it, vi } from "vitest";
import { startTcpProxy, startTestServer, type TcpProxy, type TestServer } from "cellar/testing";
// The program under test is the example: Verani's documented counter, only its import changed.
import { CounterActor } from "../../../../examples/verani-counter/src/room.js";
import { Clients } from "./helpers.js";

const clients = new Clients();
let server: TestServer | undefined;
let proxy: TcpProxy | undefined;

afterEach(async () => {
  clients.closeAll();
  await proxy?.close();
  proxy = undefined;
  await server?.close();
  server = undefined;
});

describe("VeraniClient on Cellar", () => {
  it("queues emits made before it is connected and sends them in order", async () => {
    server = await startTestServer({ rooms: [CounterActor] });
    const a = clients.make(server.url, "/ws/counter?userId=q", ["counter:update"]);
    expect(a.client.getState()).toBe("connecting");
    a.client.emit("counter:increment", { amount: 1 });
    a.client.emit("counter:increment", { amount: 10 });
    expect((await a.next("counter:update")).count).toBe(1);
    expect((await a.next("counter:update")).count).toBe(11);
    expect(a.client.isConnected()).toBe(true);
    expect(a.client.getState()).toBe("connected");
  });

  it("on, once and off, and disconnect for good", async () => {
    server = await startTestServer({ rooms: [CounterActor] });
    const a = clients.make(server.url, "/ws/counter", ["counter:update"]);
    const seen: number[] = [];
    const onceSeen: number[] = [];
    const listener = ({ count }: { count: number }) => seen.push(count);
    a.client.on("counter:update", listener);
    a.client.once("counter:update", ({ count }: { count: number }) => onceSeen.push(count));
    await a.client.waitForConnection();
    a.client.emit("counter:increment", {});
    await a.next("counter:update");
    a.client.off("counter:update", listener);
    a.client.emit("counter:increment", {});
    await a.next("counter:update");
    expect(seen).toEqual([1]);
    expect(onceSeen).toEqual([1]);

    const states: string[] = [];
    a.client.onStateChange((state) => states.push(state));
    a.client.disconnect();
    expect(a.client.getState()).toBe("disconnected");
    expect(states).toEqual(["disconnected"]);
    await expect(a.client.waitForConnection()).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
  });

  it("resumes after a dropped connection with the same default userId, missing nothing", async () => {
    server = await startTestServer({ rooms: [CounterActor] });
    proxy = await startTcpProxy(server.server.port);
    const a = clients.at(proxy.via(`${server.url.replace(/^http/, "ws")}/ws/counter`), ["counter:update", "counter:sync"], {
      reconnection: { initialDelay: 20, maxDelay: 50 },
    });
    const b = clients.make(server.url, "/ws/counter", ["counter:update"]);
    let resumed = 0;
    a.client.cellar.on("$resumed", () => resumed++);
    a.client.emit("counter:increment", {});
    const before = (await a.next("counter:update")).updatedBy;
    await a.next("counter:sync");

    proxy.sever();
    b.client.emit("counter:increment", { amount: 10 }); // sent while a is away: replayed to it
    await b.next("counter:update");
    await vi.waitFor(() => expect(resumed).toBe(1), { timeout: 5_000, interval: 10 });
    expect((await a.next("counter:update")).count).toBe(11);
    a.client.emit("counter:increment", {});
    const after = await a.next("counter:update");
    expect(after).toEqual({ count: 12, updatedBy: before });
    expect(resumed).toBe(1);
    // A resumed session is a new socket: onConnect ran again, as Verani's does per socket.
    expect((await a.next("counter:sync")).count).toBeGreaterThanOrEqual(11);
  });
});
