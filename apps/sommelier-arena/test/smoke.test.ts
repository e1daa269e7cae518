import { afterEach, expect, test } from "vitest";
import { connectHost, createSession, joinAs, newHost, optionId, startArena, type Arena } from "./helpers.js";

let arena: Arena;
afterEach(() => arena?.close());

test("a one-wine game plays through", async () => {
  arena = await startArena();
  const host = newHost();
  const code = await createSession(arena.url, host);
  const h = await connectHost(arena.url, code, host);
  expect(h.snapshot.phase).toBe("waiting");
  const ana = await joinAs(arena.url, code, "Ana");
  const bo = await joinAs(arena.url, code, "Bo");
  await h.request("host:start");
  const q = await ana.until("game:question");
  await ana.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "Red") });
  await bo.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "White") });
  await h.until("game:participant_answered", (d) => d.answeredCount === 2);
  await h.request("host:reveal");
  const r = await ana.until("game:answer_revealed");
  expect(r).toMatchObject({ correct: true, points: 100, score: 100 });
  const hr = await h.until("game:answer_revealed");
  expect(hr.counts[optionId(q, "Red")]).toBe(1);
  for (let i = 1; i < 5; i++) {
    await h.request("host:next");
    await ana.until("game:question", (d) => d.questionIndex === i);
    await h.request("host:reveal");
  }
  await h.request("host:next");
  const lb = await bo.until("game:round_leaderboard");
  expect(lb.rankings[0]).toMatchObject({ pseudonym: "Ana", score: 100, rank: 1 });
  await h.request("host:next");
  const ended = await bo.until("session:ended");
  expect(ended.reason).toBe("completed");
  const res = await fetch(`${arena.url}/api/hosts/${host.hostId}/sessions`, { headers: { authorization: `Bearer ${host.hostKey}` } });
  const index = await res.json();
  expect(index[0]).toMatchObject({ code, status: "ended", participantCount: 2 });
  expect(index[0].finalRankings).toHaveLength(2);
});
