import { describe, expect, it } from "vitest";
import type { TestServer, TestServerOptions } from "cellar/testing";
import { counter } from "./conformance/rooms.js";
import { expectSafeError, RawSocket, useCheckedServer } from "./helpers/raw-socket.js";

// The handshake's refusals as the Node host counts them. The refusals themselves (frames
// before hello, versions, the timeout, a second hello) are tested on every host in
// conformance/handshake.test.ts.

const env = useCheckedServer({ rooms: [counter] });
const sockets = env.sockets;

async function start(options: Partial<TestServerOptions> = {}): Promise<TestServer> {
  return env.start(options);
}

async function open(): Promise<RawSocket> {
  const socket = await RawSocket.open(env.current.server.roomUrl("counter", "a"));
  sockets.push(socket);
  return socket;
}

describe("refused-frame counting", () => {
  it("counts frames refused during the handshake in stats().refusedFrames.bad", async () => {
    await start();
    const early = await open();
    early.send({ t: "req", id: 1, event: "inc" });
    await early.closeEvent();
    const twice = await RawSocket.connect(env.current.server.roomUrl("counter", "a"));
    sockets.push(twice);
    twice.send({ t: "hello", v: 1 });
    expectSafeError(await twice.next(), "BAD_FRAME");
    expect(env.current.server.stats().refusedFrames.bad).toBe(2);
  });
});
