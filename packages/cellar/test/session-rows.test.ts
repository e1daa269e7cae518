import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineRoom } from "cellar";
import { startTestServer, type TestServer } from "cellar/testing";
import { RawSocket } from "./helpers/raw-socket.js";

/*
 * The row of a session whose client closed it (1000) is deleted without a commit of its
 * own: it joins the next group commit, or commits alone a moment later (Node host,
 * committer.ts). These tests hold that it always goes, also when nothing else happens, and
 * that it does not keep the instance from hibernating.
 */

const TOKEN = "inspector-token-0123456789-abcdefghij";
/** No hooks and no connection state: a close only deletes the session's row. */
const plain = defineRoom({ name: "plain", state: { n: 0 }, persistedKeys: ["n"] }).on("bump", (ctx) => ++ctx.state.n);

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function sessionsOf(id: string): Promise<Array<{ id: string }>> {
  const response = await fetch(`${t!.url}/_cellar/inspector/api/rooms/plain/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { sessions: Array<{ id: string }> }).sessions;
}

async function connect(id: string): Promise<{ socket: RawSocket; sessionId: string }> {
  const socket = await RawSocket.connect(t!.server.roomUrl("plain", id));
  return { socket, sessionId: socket.received[0]!.connectionId as string };
}

async function closeCleanly(socket: RawSocket): Promise<void> {
  socket.ws.close(1000);
  expect((await socket.closeEvent()).code).toBe(1000);
}

describe("the row of a session closed by its client", () => {
  it("is deleted soon after the close, with nothing else happening in the server", async () => {
    t = await startTestServer({ rooms: [plain], inspector: { token: TOKEN } });
    const stays = await connect("r");
    const leaves = await connect("r");
    expect((await sessionsOf("r")).map((s) => s.id).sort()).toEqual([stays.sessionId, leaves.sessionId].sort());
    await closeCleanly(leaves.socket);
    await vi.waitFor(async () => expect((await sessionsOf("r")).map((s) => s.id)).toEqual([stays.sessionId]), { timeout: 5000, interval: 20 });
  });

  it("is deleted before a hibernation asked for right after the close, which it does not block", async () => {
    t = await startTestServer({ rooms: [plain], hibernateAfterMs: 3_600_000 });
    const stays = await connect("r");
    const leaves = await connect("r");
    await closeCleanly(leaves.socket);
    // The server's side of the close may run a moment after the client saw it.
    await vi.waitFor(() => expect(t!.server.stats().connections).toBe(1), { timeout: 5000, interval: 5 });
    expect(t.server.hibernate("plain", "r")).toBe(1);
    stays.socket.close();
    await vi.waitFor(() => expect(t!.server.stats().connections).toBe(0), { timeout: 5000, interval: 5 });
    await t.close({ keepData: true });
    const db = new Database(join(t.dataDir, "cellar.db"), { readonly: true });
    try {
      const rows = db.prepare("SELECT conn_id FROM sessions").all() as Array<{ conn_id: string }>;
      expect(rows.map((r) => r.conn_id)).toEqual([stays.sessionId]);
    } finally {
      db.close();
    }
  });
});
