/**
 * The client of Verani's documentation, imports changed (and `ws` passed in, for Node 20):
 * `node examples/verani-counter/dist/client.js` while the server runs.
 */
import { WebSocket } from "ws";
import { VeraniClient } from "cellar/verani/client";
import type { WebSocketConstructor } from "cellar/client";

const client = new VeraniClient(`ws://localhost:${process.env.PORT ?? 8787}/ws/counter?userId=cli`, {
  WebSocket: WebSocket as unknown as WebSocketConstructor,
});

client.on("counter:sync", (data) => {
  console.log(`Current count: ${data.count}`);
});

client.on("counter:update", (data) => {
  console.log(`Count updated to ${data.count}`);
});

await client.waitForConnection();
client.emit("counter:increment", { amount: 1 });
client.once("counter:update", () => client.close());
