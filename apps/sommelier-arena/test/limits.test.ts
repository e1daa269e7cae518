import { afterEach, expect, test } from "vitest";
import { connect, connectHost, createSession, hostIndex, joinAs, newHost, postSession, sessionInput, startArena, type Arena } from "./helpers.js";

// Documented limits and retention (docs/protocol.md): an ended session's data is cleared
// after `retainEndedMs`, a host index keeps the newest 100 sessions, a session over HTTP is
// at most 256 KiB.

let arena: Arena | undefined;
afterEach(() => arena?.close());

test("an ended session's room is cleared after the retention time; its results stay in the host index", async () => {
  arena = await startArena({ retainEndedMs: 300 });
  const host = newHost();
  const code = await createSession(arena.url, host);
  const h = await connectHost(arena.url, code, host);
  await joinAs(arena.url, code, "Ana");
  await h.request("host:end");
  await expect
    .poll(() => arena!.server.invoke("session", code, async (ctx) => (await ctx.storage.list()).size), { timeout: 10_000 })
    .toBe(0);
  // A rejoining client finds no session there any more.
  const late = await connect(arena.url, code).catch((error: { code?: string }) => error);
  expect(late).toMatchObject({ code: "CONNECTION_CLOSED", message: expect.stringContaining("4404") });
  expect((await hostIndex(arena.url, host))[0]).toMatchObject({ code, status: "ended", finalRankings: [{ pseudonym: "Ana", score: 0, rank: 1 }] });
});

test("a host index keeps the newest 100 sessions", async () => {
  arena = await startArena();
  const host = newHost();
  const codes: string[] = [];
  for (let i = 0; i < 101; i++) codes.push(await createSession(arena.url, host, sessionInput(1, { title: `Tasting ${i}` })));
  const index = await hostIndex(arena.url, host);
  expect(index).toHaveLength(100);
  expect(index[0]!.title).toBe("Tasting 100");
  expect(index.map((e) => e.title)).not.toContain("Tasting 0");
});

test("a session body over 256 KiB is refused with 413 and creates nothing", async () => {
  arena = await startArena();
  const host = newHost();
  const { status, body } = await postSession(arena.url, { ...host, ...sessionInput(), padding: "x".repeat(300 * 1024) });
  expect(status).toBe(413);
  expect(body.code).toBe("TOO_LARGE");
  expect(await hostIndex(arena.url, host)).toEqual([]);
});
