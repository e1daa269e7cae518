import fc from "fast-check";
import { expect, test } from "vitest";
import { ERRORS, type ParticipantSnapshot } from "../src/shared/protocol.js";
import { createSession, newHost, sessionInput, useSharedArena, type Recorded } from "./helpers.js";

// Random walks through a session: a host and three participant connections send every
// event the room knows, with valid, stale and hostile payloads, in random order. Whatever
// happens, each request is answered with its result or a documented error (never a server
// fault), and the stored session keeps its invariants: every score is the sum of the points
// of its revealed responses, every answer names an option of its question, the phase is one
// of the spec's.

const { arena, host$, connect$ } = useSharedArena({ minTimerSeconds: 15 });

const VALIDATION_CODES = ["INVALID_SESSION", "INVALID_TITLE", "INVALID_TIMER", "INVALID_WINES", "INVALID_WINE", "INVALID_WINE_NAME", "INVALID_QUESTIONS", "INVALID_QUESTION", "INVALID_CATEGORY", "INVALID_ANSWER", "INVALID_DISTRACTORS", "DUPLICATE_OPTION"];
// The room's own codes, and Cellar's refusals of bad frames (none of its server faults).
const KNOWN_CODES = new Set<string>([...Object.keys(ERRORS), ...VALIDATION_CODES, "INVALID_PAYLOAD", "UNKNOWN_EVENT", "FORBIDDEN_KEY"]);
const PHASES = new Set(["waiting", "question_open", "question_paused", "question_revealed", "round_leaderboard", "ended"]);

const junk = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.constant({ __proto__: { polluted: true } }),
  fc.constant(JSON.parse('{"__proto__": {"polluted": true}}')),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxKeys: 3 }),
);
const questionId = fc.oneof(fc.constantFrom("w1q1", "w1q2", "w1q5", "w2q1", "w2q5", "w3q1", "", "w1q1 "), fc.string({ maxLength: 8 }));
const optionId = fc.oneof(fc.constantFrom("A", "B", "C", "D", "E", "a", ""), fc.string({ maxLength: 3 }));
const pseudonym = fc.oneof(fc.constantFrom("Ana", "ana", " Bo ", "Cy", "x".repeat(25), "", "\u0007bell", "<img src=x>"), fc.string({ maxLength: 30 }));

type Step = { who: "host" | number; event: string; data?: unknown; from?: number; option?: string };

const hostStep = fc.record({
  who: fc.constant("host" as const),
  event: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom("host:start", "host:reveal", "host:next") },
    { weight: 3, arbitrary: fc.constantFrom("host:pause", "host:resume", "host:lock", "update_session") },
    { weight: 1, arbitrary: fc.constant("host:end") },
  ),
  data: fc.oneof(fc.constant(undefined), fc.constant(undefined), fc.record({ locked: fc.boolean() }), junk),
});
const participantStep = fc.oneof(
  // Most answers name the question this client last saw open, as a real one would.
  fc.record({ who: fc.nat(2), event: fc.constant("answer_current" as const), option: fc.constantFrom("A", "B", "C", "D") }),
  fc.record({ who: fc.nat(2), event: fc.constant("answer_current" as const), option: fc.constantFrom("A", "B", "C", "D") }),
  fc.record({ who: fc.nat(2), event: fc.constant("submit_answer"), data: fc.oneof(fc.record({ questionId, optionId }), junk) }),
  fc.record({ who: fc.nat(2), event: fc.constant("submit_answer"), data: fc.record({ questionId, optionId }) }),
  fc.record({ who: fc.nat(2), event: fc.constant("join_session"), data: fc.oneof(fc.record({ pseudonym }), junk) }),
  fc.record({ who: fc.nat(2), event: fc.constant("rejoin_session"), data: fc.oneof(fc.record({ rejoinToken: fc.string({ maxLength: 40 }) }), junk) }),
  fc.record({ who: fc.nat(2), event: fc.constant("use_token" as const), from: fc.nat(2) }),
  fc.record({ who: fc.nat(2), event: fc.constantFrom("rejoin_host", "host:start", "host:next", "no_such_event", "*"), data: junk }),
);
const steps = fc.array(fc.oneof({ weight: 3, arbitrary: hostStep }, { weight: 5, arbitrary: participantStep }), { minLength: 20, maxLength: 80, size: "max" });

/** Sends a request; resolves to "ok" or the error code, failing on anything undocumented. */
async function attempt(client: Recorded, event: string, data: unknown): Promise<string> {
  try {
    await client.request(event, data);
    return "ok";
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    expect(KNOWN_CODES.has(code), `${event} → ${code}: ${message}`).toBe(true);
    expect(message).not.toMatch(/at .*\.ts:\d+|TypeError|undefined is not/);
    return code;
  }
}

test("random walks through a session never fault the server nor break the stored invariants", async () => {
  // What the walks reached, so the test also shows they went somewhere.
  const reached = { phases: new Set<string>(), scoredResponses: 0 };
  await fc.assert(
    fc.asyncProperty(steps, async (walk) => {
      const host = newHost();
      const code = await createSession(arena.url, host, sessionInput(2));
      const h = await host$(code, host);
      const players = [await connect$(code), await connect$(code), await connect$(code)];
      // Two guests are in from the start, so walks get into the game; the third may join.
      const tokens: Array<string | undefined> = [];
      for (const [i, name] of ["Ana", "Bo"].entries()) {
        tokens[i] = ((await players[i]!.request("join_session", { pseudonym: name })) as { rejoinToken: string }).rejoinToken;
      }

      for (const step of walk as Step[]) {
        if (step.who === "host") {
          const data = step.event === "update_session" && step.data === undefined ? sessionInput(3, { title: "Changed" }) : step.data;
          await attempt(h, step.event, data);
          continue;
        }
        const client = players[step.who]!;
        if (step.event === "answer_current") {
          const current = client.of("game:question").at(-1) as { questionId: string } | undefined;
          if (current) await attempt(client, "submit_answer", { questionId: current.questionId, optionId: step.option! });
          continue;
        }
        if (step.event === "use_token") {
          const token = tokens[step.from!];
          if (token) await attempt(client, "rejoin_session", { rejoinToken: token });
          continue;
        }
        if (step.event === "join_session") {
          // Outside the try: a failed check must not be taken for a refusal.
          const joined = await client.request<{ rejoinToken: string; snapshot: ParticipantSnapshot }>("join_session", step.data).catch((error: { code: string; message: string }) => {
            expect(KNOWN_CODES.has(error.code), `join_session → ${error.code}: ${error.message}`).toBe(true);
            return undefined;
          });
          if (joined) {
            tokens[step.who] = joined.rejoinToken;
            expect(joined.snapshot.phase).not.toBe("ended");
          }
          continue;
        }
        await attempt(client, step.event, step.data);
      }

      // The host can still see everything, and the stored session is consistent.
      const snapshot = await h.request<{ phase: string }>("rejoin_host", host);
      expect(PHASES.has(snapshot.phase)).toBe(true);
      const stored = await arena.server.invoke("session", code, async (ctx) => [...(await ctx.storage.list())]);
      const byKey = new Map<string, any>(stored);
      const state = byKey.get("state");
      expect(PHASES.has(state.phase)).toBe(true);
      expect(state.phase).toBe(snapshot.phase);
      reached.phases.add(state.phase);
      const options = new Map<string, string[]>(state.wines.flatMap((w: any) => w.questions.map((q: any) => [q.id, q.options.map((o: any) => o.id)])));
      const participants = stored.filter(([key]) => key.startsWith("participant:")).map(([, p]) => p as { id: string; score: number });
      expect(state.participantCount).toBe(participants.length);
      for (const p of participants) {
        const responses = stored.filter(([key]) => key.startsWith(`response:${p.id}:`));
        for (const [key, r] of responses) expect(options.get(key.split(":")[2]!)).toContain((r as { optionId: string }).optionId);
        reached.scoredResponses += responses.filter(([, r]) => (r as { points: number }).points > 0).length;
        const revealed = responses.reduce((sum, [, r]) => sum + ((r as { revealed: boolean; points: number }).revealed ? (r as { points: number }).points : 0), 0);
        expect(p.score).toBe(revealed);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      for (const c of [h, ...players]) c.close();
    }),
    { numRuns: 100 },
  );
  expect(reached.phases.size).toBeGreaterThanOrEqual(3);
  expect(reached.scoredResponses).toBeGreaterThan(0);
}, 120_000);
