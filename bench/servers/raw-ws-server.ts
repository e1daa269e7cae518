import { WebSocketServer, type WebSocket } from "ws";
import { serve } from "../lib/ipc-host.js";

/**
 * The baseline: a hand-written `ws` server speaking just enough of Cellar's protocol for
 * the same load generator. Members are grouped by URL path; an `emit` is parsed once,
 * serialized once and encoded once, and the same bytes go to every member of the sender's
 * room as a text frame (as the raw `ws` server of ../shared/peer-bench does; `send` of a
 * string would encode it again for each member).
 */
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, clientTracking: false });
const rooms = new Map<string, Set<WebSocket>>();
let nextId = 0;

wss.on("connection", (ws, request) => {
  const path = request.url ?? "/";
  let members = rooms.get(path);
  if (!members) rooms.set(path, (members = new Set()));
  members.add(ws);
  ws.on("message", (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.t === "emit") {
      const out = Buffer.from(JSON.stringify({ t: "event", event: "chat:message", data: frame.data }));
      for (const member of members) member.send(out, { binary: false });
    } else if (frame.t === "req") {
      ws.send(JSON.stringify({ t: "ack", id: frame.id, data: frame.data }));
    } else if (frame.t === "hello") {
      ws.send(JSON.stringify({ t: "welcome", v: 1, connectionId: String(++nextId), resumed: false }));
    }
  });
  ws.on("close", () => {
    members.delete(ws);
    if (members.size === 0) rooms.delete(path);
  });
});
await new Promise((resolve) => wss.once("listening", resolve));

const { port } = wss.address() as { port: number };
serve(`ws://127.0.0.1:${port}`, {
  // Nothing to flush: the process exits right after.
  close: async () => {},
});
