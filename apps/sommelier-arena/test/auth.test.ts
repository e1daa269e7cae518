/**
 * Who may do what (spec "Auth", quality.md "Bad input and security"): host actions need the
 * host key given by rejoin_host on that connection, the display host id alone grants
 * nothing, a host id belongs to its first key, a rejoin token returns only its own
 * participant, secrets are long, distinct and never stored in clear, and unknown codes are
 * refused and rate-limited per address.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { CellarClient, type ClientOptions, type WebSocketConstructor } from "cellar/client";
import {
  connectHost,
  createSession,
  hostIndex,
  newHost,
  optionId,
  postSession,
  record,
  refused,
  rejoinAs,
  roomUrl,
  sessionInput,
  startArena,
  useSharedArena,
  type Arena,
  type Recorded,
} from "./helpers.js";

const { arena, track, host$, join$, game$, connect$ } = useSharedArena();
let extraArenas: Arena[] = [];
afterEach(async () => {
  for (const a of extraArenas) await a.close();
  extraArenas = [];
});

const HOST_ACTIONS: Array<[event: string, data?: unknown]> = [
  ["host:start"],
  ["host:pause"],
  ["host:resume"],
  ["host:reveal"],
  ["host:next"],
  ["host:end"],
  ["host:lock"],
  ["host:lock", { locked: false }],
  ["update_session", sessionInput(2, { title: "Hijacked", timerSeconds: 15 })],
];

/** Every host action from `c` is refused with NOT_HOST. */
async function expectNotHost(c: Recorded, who: string) {
  for (const [event, data] of HOST_ACTIONS) {
    const error = await refused(c.request(event, data));
    expect(error.code, `${event} from ${who}`).toBe("NOT_HOST");
    expect(error.message).toMatch(/host/i);
  }
}

let markers = 0;
/**
 * Marks what `watcher` received so far. `settled()` then has someone join the session (a
 * broadcast naming a new pseudonym) and waits until `watcher` has it: whatever the room sent
 * before has arrived by then. Returns the events received in between, the marker included.
 */
function mark(watcher: Recorded, code: string) {
  const from = watcher.frames.length;
  return async () => {
    markers += 1;
    const name = `Marker ${markers}`;
    await join$(code, name);
    await watcher.until("lobby:updated", (l) => l.participants.some((p: { pseudonym: string }) => p.pseudonym === name));
    const events = watcher.frames.slice(from);
    const end = events.findIndex((f) => f.event === "lobby:updated" && f.data.participants.some((p: { pseudonym: string }) => p.pseudonym === name));
    return events
      .slice(0, end + 1)
      .map((f) => f.event)
      .filter((e) => e !== "game:timer_tick");
  };
}

async function hostIndexStatus(hostId: string, authorization?: string) {
  const response = await fetch(`${arena.url}/api/hosts/${encodeURIComponent(hostId)}/sessions`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  return { status: response.status, body: await response.json() };
}

// ---------------------------------------------------------------------------------------

describe("host actions need the host key", () => {
  test("every host action from a connection without rejoin_host is refused with NOT_HOST, and nothing changes", async () => {
    const host = newHost();
    const code = await createSession(arena.url, host);
    const h = await host$(code, host);
    const ana = await join$(code, "Ana");
    const stranger = await connect$(code);

    // In the lobby: a stranger, and a participant, try everything.
    let settled = mark(ana, code);
    await expectNotHost(stranger, "a connection that never sent rejoin_host");
    await expectNotHost(ana, "a participant");
    expect(await settled()).toEqual(["lobby:updated"]);
    const lobby = ana.of("lobby:updated").at(-1);
    expect(lobby).toMatchObject({ title: "Friday tasting", timerSeconds: 60, roundCount: 1, locked: false });

    // During a question too: no pause, reveal, next or end happens.
    expect(await h.request("host:start")).toEqual({ phase: "question_open" });
    const q = await ana.until("game:question");
    settled = mark(ana, code);
    await expectNotHost(stranger, "a connection that never sent rejoin_host (question open)");
    await expectNotHost(ana, "a participant (question open)");
    expect(await settled()).toEqual(["lobby:updated"]);
    const again = await connectHost(arena.url, code, host);
    track(again);
    expect(again.snapshot).toMatchObject({ phase: "question_open", title: "Friday tasting", question: { questionId: q.questionId, paused: false } });
  });

  test("rejoin_host with a wrong key, or a wrong or missing host id, is refused and the connection stays powerless", async () => {
    const other = newHost();
    await createSession(arena.url, other);
    const { host, code, players: [ana] } = await game$({ pseudonyms: ["Ana"] });

    const attempts: Array<[string, unknown, string[]]> = [
      ["the right id with a wrong key", { hostId: host.hostId, hostKey: newHost().hostKey }, ["WRONG_HOST_KEY"]],
      ["the right id with another host's key", { hostId: host.hostId, hostKey: other.hostKey }, ["WRONG_HOST_KEY"]],
      ["the right id with an empty key", { hostId: host.hostId, hostKey: "" }, ["WRONG_HOST_KEY"]],
      ["another host's id and key", other, ["WRONG_HOST_KEY"]],
      ["a wrong id with the right key", { hostId: "OAKY-BADGER", hostKey: host.hostKey }, ["WRONG_HOST_KEY"]],
      ["an empty id with the right key", { hostId: "", hostKey: host.hostKey }, ["WRONG_HOST_KEY"]],
      // A payload without a field fails the handler's schema before it runs (Cellar's INVALID_PAYLOAD).
      ["the right id without a key", { hostId: host.hostId }, ["WRONG_HOST_KEY", "INVALID_PAYLOAD"]],
      ["the right key without an id", { hostKey: host.hostKey }, ["WRONG_HOST_KEY", "INVALID_PAYLOAD"]],
    ];
    const intruder = await connect$(code);
    const settled = mark(ana, code);
    for (const [what, payload, codes] of attempts) {
      const error = await refused(intruder.request("rejoin_host", payload));
      expect(codes, `rejoin_host with ${what}: ${error.code}`).toContain(error.code);
      // The refusal never carries the host's data.
      expect(JSON.stringify(error)).not.toContain(host.hostKey);
      await expectNotHost(intruder, `a connection refused by rejoin_host (${what})`);
    }
    // Ana saw nothing but the marker; the host's game is where it was.
    expect(await settled()).toEqual(["lobby:updated"]);
    expect(intruder.of("game:participant_answered")).toEqual([]);
    const check = await connectHost(arena.url, code, host);
    track(check);
    expect(check.snapshot).toMatchObject({ phase: "question_open", title: "Friday tasting", locked: false });
    // The right pair still works on that very connection.
    const snapshot = await intruder.request("rejoin_host", host);
    expect(snapshot).toMatchObject({ role: "host", hostId: host.hostId });
    expect(await intruder.request("host:pause")).toEqual({ phase: "question_paused" });
  });
});

// ---------------------------------------------------------------------------------------

describe("the display host id alone grants nothing", () => {
  test("GET /api/hosts/<hostId>/sessions: 401 without Authorization, 403 with a wrong key, 200 with the right one", async () => {
    const host = newHost();
    const other = newHost();
    const code = await createSession(arena.url, host);
    await createSession(arena.url, other);

    for (const authorization of [undefined, "", host.hostKey, `Basic ${host.hostKey}`, "Bearer "]) {
      const reply = await hostIndexStatus(host.hostId, authorization);
      expect(reply.status, `Authorization: ${JSON.stringify(authorization)}`).toBe(401);
      expect(reply.body).toEqual({ code: "UNAUTHORIZED", message: expect.stringContaining("Bearer") });
    }
    for (const key of [newHost().hostKey, other.hostKey, `${host.hostKey}x`, host.hostKey.slice(0, -1)]) {
      const reply = await hostIndexStatus(host.hostId, `Bearer ${key}`);
      expect(reply.status).toBe(403);
      expect(reply.body.code).toBe("WRONG_HOST_KEY");
      expect(JSON.stringify(reply.body)).not.toContain(code);
    }
    const ok = await hostIndexStatus(host.hostId, `Bearer ${host.hostKey}`);
    expect(ok.status).toBe(200);
    expect(ok.body.map((e: { code: string }) => e.code)).toEqual([code]);
  });

  test("a host id belongs to its first key: creating with the same id and another key is 409 HOST_ID_TAKEN", async () => {
    const host = newHost();
    const code = await createSession(arena.url, host, sessionInput(1, { title: "Mine" }));
    const thief = { hostId: host.hostId, hostKey: newHost().hostKey };
    const taken = await postSession(arena.url, { ...thief, ...sessionInput(1, { title: "Stolen" }) });
    expect(taken.status).toBe(409);
    expect(taken.body).toEqual({ code: "HOST_ID_TAKEN", message: expect.stringMatching(/another host key/) });
    // The id's owner still creates sessions; the index holds only the owner's.
    const second = await createSession(arena.url, host, sessionInput(1, { title: "Mine too" }));
    const index = await hostIndexStatus(host.hostId, `Bearer ${host.hostKey}`);
    expect(index.body.map((e: { code: string; title: string }) => [e.code, e.title])).toEqual([
      [second, "Mine too"],
      [code, "Mine"],
    ]);
    expect((await hostIndexStatus(host.hostId, `Bearer ${thief.hostKey}`)).status).toBe(403);
  });
});

// ---------------------------------------------------------------------------------------

describe("rejoin tokens", () => {
  test("a rejoin token returns only its own participant; unknown tokens and switching participant are refused", async () => {
    const { code, h, q, players: [a, b] } = await game$();
    await a.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "Red") });
    await b.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "White") });
    await h.request("host:reveal");
    await b.until("game:answer_revealed");

    const asA = track(await rejoinAs(arena.url, code, a.joined.rejoinToken));
    expect(asA.snapshot.you).toEqual({ participantId: a.joined.participantId, pseudonym: "Ana", score: 100, rank: 1 });
    expect(asA.snapshot.reveal).toMatchObject({ yourOptionId: optionId(q, "Red"), correct: true, score: 100 });
    const asB = track(await rejoinAs(arena.url, code, b.joined.rejoinToken));
    expect(asB.snapshot.you).toEqual({ participantId: b.joined.participantId, pseudonym: "Bo", score: 0, rank: 2 });
    expect(asB.snapshot.reveal).toMatchObject({ yourOptionId: optionId(q, "White"), correct: false, score: 0 });
    // Neither snapshot carries the other's token or answer.
    expect(JSON.stringify(asA.snapshot)).not.toContain(b.joined.rejoinToken);
    expect(JSON.stringify(asB.snapshot)).not.toContain(a.joined.rejoinToken);

    const otherCode = await createSession(arena.url, newHost());
    const elsewhere = await join$(otherCode, "Cy");
    const stranger = await connect$(code);
    for (const token of ["", "garbage", "!!!!", "x".repeat(128), a.joined.rejoinToken.slice(0, -1), elsewhere.joined.rejoinToken]) {
      const error = await refused(stranger.request("rejoin_session", { rejoinToken: token }));
      expect(error.code, `token ${JSON.stringify(token)}`).toBe("UNKNOWN_REJOIN_TOKEN");
    }
    // The refused stranger is still nobody.
    expect(await refused(stranger.request("submit_answer", { questionId: q.questionId, optionId: "A" }))).toMatchObject({ code: "NOT_JOINED" });

    // A connection bound to A cannot become B, nor join anew; it stays A.
    const switching = await refused(asA.request("rejoin_session", { rejoinToken: b.joined.rejoinToken }));
    expect(switching.code).toBe("ALREADY_JOINED");
    expect((await refused(asA.request("join_session", { pseudonym: "Bob" }))).code).toBe("ALREADY_JOINED");
    const stillA = await asA.request("rejoin_session", { rejoinToken: a.joined.rejoinToken });
    expect(stillA.you).toMatchObject({ participantId: a.joined.participantId, pseudonym: "Ana" });
    // The host's connection cannot take a participant's place either.
    expect((await refused(h.request("rejoin_session", { rejoinToken: a.joined.rejoinToken }))).code).toBe("ALREADY_JOINED");

    // No frame to anyone ever carried a rejoin token.
    for (const c of [h, a, b, asA, asB, stranger]) {
      const sent = JSON.stringify(c.frames);
      for (const token of [a.joined.rejoinToken, b.joined.rejoinToken]) expect(sent).not.toContain(token);
    }
  });

  test("50 joins get 50 distinct rejoin tokens of at least 128 bits", async () => {
    const code = await createSession(arena.url, newHost());
    const joins = await Promise.all(Array.from({ length: 50 }, (_, i) => join$(code, `Taster ${i}`)));
    const tokens = joins.map((j) => j.joined.rejoinToken);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(new Set(tokens).size).toBe(50);
    expect(new Set(joins.map((j) => j.joined.participantId)).size).toBe(50);
    // Tokens are random, not derived from one another: no two share their first 8 characters.
    expect(new Set(tokens.map((t) => t.slice(0, 8))).size).toBe(50);
  });
});

// ---------------------------------------------------------------------------------------

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path);
    // Only files hold data (the server's admin socket, cellar.sock, is not one).
    return stat.isDirectory() ? filesUnder(path) : stat.isFile() ? [path] : [];
  });
}

test("the stored data never holds a host key in clear, only its SHA-256", async () => {
  const { host, h } = await game$({ pseudonyms: ["Ana"] });
  await h.request("host:reveal");
  expect((await hostIndexStatus(host.hostId, `Bearer ${host.hostKey}`)).status).toBe(200);
  h.close();
  // A second session and a second rejoin_host for good measure.
  const code2 = await createSession(arena.url, host);
  await host$(code2, host);

  const hash = createHash("sha256").update(host.hostKey).digest("base64url");
  await expect
    .poll(() => filesUnder(arena.dataDir).some((f) => readFileSync(f).includes(hash)), { timeout: 5000 })
    .toBe(true);
  const files = filesUnder(arena.dataDir);
  expect(files.some((f) => /sqlite|\.db/.test(f))).toBe(true);
  for (const file of files) {
    const bytes = readFileSync(file);
    expect(bytes.includes(host.hostKey), file).toBe(false);
    expect(bytes.includes(Buffer.from(host.hostKey, "utf16le")), file).toBe(false);
  }
});

// ---------------------------------------------------------------------------------------

describe("unknown codes", () => {
  const WS = WebSocket as unknown as WebSocketConstructor;
  /** A client of `code` that records its frames; resolves once it is open or closed for good. */
  async function attempt(url: string, code: string, options: ClientOptions = {}) {
    const client = new CellarClient(roomUrl(url, code), { WebSocket: WS, sessionStore: "memory", ...options });
    const c = record(client);
    const opened = await client.waitForConnection().then(
      () => true,
      () => false,
    );
    if (opened) track(c);
    return { c, opened, closes: c.of("$close") as Array<{ code: number; reason: string; final: boolean }> };
  }

  test("connecting to a code without a session closes for good with 4404", async () => {
    const empty = await startArena();
    extraArenas.push(empty);
    const { opened, closes, c } = await attempt(empty.url, "4321");
    expect(opened).toBe(false);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ code: 4404, final: true });
    expect(closes[0]!.reason).toBe("SESSION_NOT_FOUND");
    expect(c.client.state).toBe("closed");
  });

  test("after `burst` unknown codes from one address, further attempts are refused with 4429, even to an existing code", async () => {
    const limited = await startArena({ unknownCodes: { burst: 3, perMinute: 1 } });
    extraArenas.push(limited);
    const host = newHost();
    const code = await createSession(limited.url, host);
    // Reaching existing sessions costs nothing: a room full of phones on one Wi-Fi joins freely.
    for (let i = 0; i < 5; i++) {
      const ok = await attempt(limited.url, code, { reconnect: false });
      expect(ok.opened).toBe(true);
      await ok.c.request("join_session", { pseudonym: `Phone ${i}` });
      ok.c.close();
    }
    const unknown = ["1000", "1001", "1002", "1003", "1004", "1005"].filter((c) => c !== code);
    for (const guess of unknown.slice(0, 3)) {
      const { opened, closes } = await attempt(limited.url, guess);
      expect(opened).toBe(false);
      expect(closes.map((c) => [c.code, c.final])).toEqual([[4404, true]]);
    }
    // The fourth unknown code, and now the existing one too, are refused: too many attempts.
    const fourth = await attempt(limited.url, unknown[3]!, { reconnect: false });
    expect(fourth.opened).toBe(false);
    expect(fourth.closes.map((c) => c.code)).toEqual([4429]);
    expect(fourth.closes[0]!.reason).toBe("TOO_MANY_ATTEMPTS");
    const existing = await attempt(limited.url, code, { reconnect: false });
    expect(existing.opened).toBe(false);
    expect(existing.closes.map((c) => c.code)).toEqual([4429]);
    // The session itself is unharmed: its host's index still shows it waiting with its phones.
    expect(await hostIndex(limited.url, host)).toEqual([expect.objectContaining({ code, status: "waiting", participantCount: 5 })]);
  });
});
