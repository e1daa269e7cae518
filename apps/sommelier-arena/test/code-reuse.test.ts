import { afterEach, expect, test } from "vitest";
import { openSession, resolveOptions } from "../src/server/room.js";
import { sha256 } from "cellar";
import { connectHost, createSession, joinAs, newHost, refused, sessionInput, startArena, type Arena, type Host, type Recorded } from "./helpers.js";

// A code belongs to one live session. Once a session ended, its code may go to a new one
// (when free codes are scarce); connections of the old session then have no power in it
// and hear nothing of it.

let arena: Arena;
afterEach(() => arena?.close());

const open = async (code: string, host: Host, replaceEnded: boolean) =>
  arena.server.invoke("session", code, async (ctx) =>
    openSession(ctx, { session: sessionInput(1, { title: "Second" }), hostId: host.hostId, hostKeyHash: await sha256(host.hostKey), replaceEnded }, resolveOptions()),
  );

test("a live session's code is never taken; an ended one's is, and its old connections stay powerless", async () => {
  arena = await startArena();
  const first = newHost();
  const code = await createSession(arena.url, first);
  const oldHost = await connectHost(arena.url, code, first);
  const oldAna = await joinAs(arena.url, code, "Ana");
  expect(await open(code, first, true)).toBe(false);

  await oldHost.request("host:end");
  expect(await open(code, first, false)).toBe(false); // kept for late rejoins
  const second = newHost();
  expect(await open(code, second, true)).toBe(true);
  const heardBefore = { host: oldHost.frames.length, ana: oldAna.frames.length };

  const host = await connectHost(arena.url, code, second);
  const bo = await joinAs(arena.url, code, "Bo");
  expect(bo.joined.snapshot.title).toBe("Second");
  expect(bo.joined.snapshot.participants.map((p) => p.pseudonym)).toEqual(["Bo"]);

  // The old host's binding and the old participant's token mean nothing here.
  expect((await refused(oldHost.request("host:start"))).code).toBe("NOT_HOST");
  expect((await refused(oldAna.request("rejoin_session", { rejoinToken: oldAna.joined.rejoinToken }))).code).toBe("UNKNOWN_REJOIN_TOKEN");
  expect((await refused(oldAna.request("submit_answer", { questionId: "w1q1", optionId: "A" }))).code).toBe("NOT_JOINED");

  // Host-only and per-participant frames of the new session reach only its own clients.
  await host.request("host:start");
  await bo.request("submit_answer", { questionId: "w1q1", optionId: "A" });
  await host.until("game:participant_answered", (d) => d.answeredCount === 1);
  await host.request("host:reveal");
  await bo.until("game:answer_revealed");
  const heard = (c: Recorded, from: number) => c.frames.slice(from).filter((f) => !f.event.startsWith("$"));
  expect(heard(oldHost, heardBefore.host)).toEqual([]);
  expect(heard(oldAna, heardBefore.ana)).toEqual([]);
});
