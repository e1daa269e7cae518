// The Node host's once-a-minute clean-ups, run by the server's own timers: expired KV
// entries and the replay log's old entries are deleted (how each deletes is in
// src/node/sweep.test.ts and src/node/sqlite/shared-db.test.ts). The clock and setInterval
// are faked; sockets and the rest of the event loop stay real.
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineRoom } from "cellar";
import { startTestServer, type TestServer } from "cellar/testing";

const feed = defineRoom({ name: "feed", state: {} }).on("post", (ctx, text) => {
  ctx.emit.broadcast("post", text);
});

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  vi.useRealTimers();
});

async function logRows(t: TestServer): Promise<number> {
  const text = await (await fetch(t.server.metricsUrl!)).text();
  return Number(/^cellar_replay_log_rows (\d+)$/m.exec(text)![1]);
}

describe("the server's periodic sweeps", () => {
  it("deletes expired KV entries once a minute: with the clock set back, they stay gone", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"] });
    const start = Date.now();
    server = await startTestServer({ rooms: [feed] });
    const kv = server.server.kv("NS");
    await kv.put("short", "v", { expirationTtl: 60 });
    await kv.put("long", "v", { expirationTtl: 3600 });
    await vi.advanceTimersByTimeAsync(30_000);
    vi.setSystemTime(start);
    // No pass yet: with the clock set back, the entry reads back (reads hide it only by its time).
    expect(await kv.get("short")).toBe("v");
    await vi.advanceTimersByTimeAsync(120_000);
    vi.setSystemTime(start);
    expect(await kv.get("short")).toBeNull();
    expect(await kv.get("long")).toBe("v");
  });

  it("trims replay-log entries older than the resume window plus its margin", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"] });
    server = await startTestServer({ rooms: [feed], resumeWindowMs: 1_000, metrics: { port: 0 } });
    const client = await server.connect("feed", "a");
    for (let i = 0; i < 5; i++) await client.request("post", `p${i}`);
    client.close();
    expect(await logRows(server)).toBe(5);
    // Kept: the window and a margin of a minute (61 s); the trim runs every 60 s.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await logRows(server)).toBe(5);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await logRows(server)).toBe(0);
  });
});
