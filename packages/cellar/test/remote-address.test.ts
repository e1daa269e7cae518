import { afterEach, expect, it } from "vitest";
import { WebSocket } from "ws";
import { defineRoom } from "cellar";
import type { WebSocketConstructor } from "cellar/client";
import { startTestServer, type TestServer } from "cellar/testing";

// authenticate learns the client's address from the `cellar-remote-address` header, which
// only the host sets: a client sending its own cannot pass for another address.

const whoami = defineRoom({
  name: "whoami",
  state: {},
  authenticate: (request) => ({ address: request.headers.get("cellar-remote-address") }),
});
whoami.on("address", (ctx) => ctx.connection.meta.address);

class ForgingWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { headers: { "cellar-remote-address": "203.0.113.9" } });
  }
}

let env: TestServer | undefined;
afterEach(() => env?.close());

it("gives authenticate the peer's address and drops one the client sent", async () => {
  env = await startTestServer({ rooms: [whoami] });
  const plain = await env.connect("whoami", "a");
  expect(await plain.request("address")).toBe("127.0.0.1");
  const forging = await env.connect("whoami", "a", { WebSocket: ForgingWebSocket as unknown as WebSocketConstructor });
  expect(await forging.request("address")).toBe("127.0.0.1");
});
