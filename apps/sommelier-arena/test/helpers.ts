/**
 * Test helpers: an arena server in this process (or a URL of one in a child process), hosts
 * and participants as real Cellar clients that record every frame they receive.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, afterEach, beforeAll, expect, vi } from "vitest";
import { WebSocket } from "ws";
import { CellarClient, type ClientOptions, type WebSocketConstructor } from "cellar/client";
import type { CellarServer } from "cellar/node";
import { tempDataDir } from "cellar/testing";
import type {
  CreateSessionRequest,
  HostIndexEntry,
  HostSnapshot,
  JoinSessionReply,
  ParticipantSnapshot,
  QuestionView,
  SessionInput,
  WineInput,
} from "../src/shared/protocol.js";
import { SERVER_EVENT_NAMES } from "../src/shared/protocol.js";
import { createArenaServer, type ArenaServerOptions } from "../src/server/arena.js";

export interface Arena {
  server: CellarServer;
  /** `http://127.0.0.1:<port>` */
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

/** An arena server on a free port with a temporary data directory and silent logs. */
export async function startArena(options: ArenaServerOptions = {}): Promise<Arena> {
  const dataDir = options.dataDir ?? tempDataDir("arena-test-");
  const server = createArenaServer({ logLevel: "silent", signals: false, port: 0, ...options, dataDir, webDir: options.webDir ?? dataDir });
  const { url } = await server.listen();
  return {
    server,
    url,
    dataDir,
    async close() {
      await server.close();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Host {
  hostId: string;
  hostKey: string;
}

let hosts = 0;
/** A host identity as the web app makes one: a display id and a 256-bit key. */
export function newHost(): Host {
  hosts += 1;
  return { hostId: `TANNIC-FALCON-${process.pid}-${hosts}`, hostKey: randomBytes(32).toString("base64url") };
}

/** A valid wine; `n` makes its answers distinct from other wines'. */
export function wine(n = 1): WineInput {
  return {
    name: `Château Test ${n}`,
    questions: [
      { category: "color", correctAnswer: "Red", distractors: ["White", "Rosé", "Orange"] },
      { category: "country", correctAnswer: "France", distractors: ["Italy", "Spain", "Chile"] },
      { category: "grape_variety", correctAnswer: "Merlot", distractors: ["Syrah", "Pinot Noir", "Malbec"] },
      { category: "vintage_year", correctAnswer: `${2010 + n}`, distractors: [`${2000 + n}`, `${2005 + n}`, `${2015 + n}`] },
      { category: "wine_name", correctAnswer: `Château Test ${n}`, distractors: ["Domaine A", "Domaine B", "Domaine C"] },
    ],
  };
}

export function sessionInput(wines = 1, overrides: Partial<SessionInput> = {}): SessionInput {
  return { title: "Friday tasting", timerSeconds: 60, wines: Array.from({ length: wines }, (_, i) => wine(i + 1)), ...overrides };
}

/** `POST /api/sessions`: the status and the JSON body. */
export async function postSession(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}/api/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Creates a session and returns its code (fails the test if it cannot). */
export async function createSession(url: string, host: Host, input: SessionInput = sessionInput()): Promise<string> {
  const { status, body } = await postSession(url, { ...host, ...input } satisfies CreateSessionRequest);
  if (status !== 201) throw new Error(`session not created: ${status} ${JSON.stringify(body)}`);
  return body.code;
}

export const roomUrl = (url: string, code: string) => `${url.replace(/^http/, "ws")}/rooms/session/${code}`;

/** A client that records every event it receives, in order. */
export interface Recorded {
  client: CellarClient;
  /** Every frame received, in order (`$`-events included), with its arrival time (`Date.now()`). */
  frames: Array<{ event: string; data: any; at: number }>;
  of(event: string): any[];
  /** Waits until an `event` matching `match` was received (before or after the call). */
  until(event: string, match?: (data: any) => boolean, timeoutMs?: number): Promise<any>;
  request<T = any>(event: string, data?: unknown): Promise<T>;
  close(): void;
}

const SERVER_EVENTS = [
  ...SERVER_EVENT_NAMES,
  "$state",
  "$resumed",
  "$resynced",
  "$close",
  "$error",
];

export function record(client: CellarClient): Recorded {
  const frames: Recorded["frames"] = [];
  for (const event of SERVER_EVENTS) client.on(event, (data: unknown) => frames.push({ event, data, at: Date.now() }));
  const of = (event: string) => frames.filter((f) => f.event === event).map((f) => f.data);
  return {
    client,
    frames,
    of,
    until: (event, match = () => true, timeoutMs = 15_000) =>
      vi.waitFor(
        () => {
          const found = of(event).find(match);
          if (found === undefined) throw new Error(`no "${event}" yet; got ${JSON.stringify(frames.map((f) => f.event).slice(-20))}`);
          return found;
        },
        { timeout: timeoutMs, interval: 10 },
      ),
    request: <T>(event: string, data?: unknown) => client.request(event, data) as Promise<T>,
    close: () => client.close(),
  };
}

/** A connected, recording client of session `code` (not yet host nor participant). */
export async function connect(url: string, code: string, options: ClientOptions = {}): Promise<Recorded> {
  const client = new CellarClient(roomUrl(url, code), { WebSocket: WebSocket as unknown as WebSocketConstructor, sessionStore: "memory", ...options });
  const recorded = record(client);
  await client.waitForConnection();
  return recorded;
}

export async function connectHost(url: string, code: string, host: Host, options: ClientOptions = {}): Promise<Recorded & { snapshot: HostSnapshot }> {
  const c = await connect(url, code, options);
  const snapshot = await c.request<HostSnapshot>("rejoin_host", host);
  return Object.assign(c, { snapshot });
}

export type Participant = Recorded & { joined: JoinSessionReply };

export async function joinAs(url: string, code: string, pseudonym: string, options: ClientOptions = {}): Promise<Participant> {
  const c = await connect(url, code, options);
  const joined = await c.request<JoinSessionReply>("join_session", { pseudonym });
  return Object.assign(c, { joined });
}

export async function rejoinAs(url: string, code: string, rejoinToken: string): Promise<Recorded & { snapshot: ParticipantSnapshot }> {
  const c = await connect(url, code);
  const snapshot = await c.request<ParticipantSnapshot>("rejoin_session", { rejoinToken });
  return Object.assign(c, { snapshot });
}

/** The snapshot a second tab of the participant with `rejoinToken` would draw now (the tab is closed again). */
export async function participantSnapshot(url: string, code: string, rejoinToken: string): Promise<ParticipantSnapshot> {
  const tab = await connect(url, code);
  try {
    return await tab.request<ParticipantSnapshot>("rejoin_session", { rejoinToken });
  } finally {
    tab.close();
  }
}

/** How `startGame` opens the host's and the participants' clients. */
export interface Openers {
  host(code: string, host: Host): Promise<Recorded & { snapshot: HostSnapshot }>;
  join(code: string, pseudonym: string): Promise<Participant>;
}

/**
 * A started game: a new host's session of `input` (default: one wine, 60 s), its host
 * connected and `pseudonyms` (default Ana and Bo) joined in that order, then `host:start`;
 * resolves once every participant has the first question `q`.
 */
export async function startGame<const P extends readonly string[] = readonly ["Ana", "Bo"]>(
  url: string,
  options: { pseudonyms?: P; input?: SessionInput } = {},
  open: Openers = { host: (code, host) => connectHost(url, code, host), join: (code, pseudonym) => joinAs(url, code, pseudonym) },
): Promise<{ host: Host; code: string; h: Recorded & { snapshot: HostSnapshot }; players: { -readonly [K in keyof P]: Participant }; q: QuestionView }> {
  const host = newHost();
  const code = await createSession(url, host, options.input);
  const h = await open.host(code, host);
  const players: Participant[] = [];
  for (const pseudonym of options.pseudonyms ?? ["Ana", "Bo"]) players.push(await open.join(code, pseudonym));
  await h.request("host:start");
  const [q] = await Promise.all(players.map((p) => p.until("game:question")));
  return { host, code, h, players: players as { -readonly [K in keyof P]: Participant }, q };
}

/** The error a request was refused with: `{ code, message }`. */
export async function refused(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { code, message };
  }
  throw new Error("expected the request to be refused");
}

/** The option id whose text is `text` in a `game:question` payload. */
export function optionId(question: { options: Array<{ id: string; text: string }> }, text: string): string {
  const option = question.options.find((o) => o.text === text);
  if (!option) throw new Error(`no option "${text}" in ${JSON.stringify(question.options)}`);
  return option.id;
}

/** `GET /api/hosts/<hostId>/sessions` with the host's key (fails the test unless 200). */
export async function hostIndex(url: string, host: Host): Promise<HostIndexEntry[]> {
  const response = await fetch(`${url}/api/hosts/${encodeURIComponent(host.hostId)}/sessions`, { headers: { authorization: `Bearer ${host.hostKey}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as HostIndexEntry[];
}

/**
 * One arena for the tests of a file (started before them, closed after), with client makers
 * whose clients are closed after each test.
 */
export function useSharedArena(options: ArenaServerOptions = {}) {
  let current: Arena | undefined;
  let opened: Recorded[] = [];
  beforeAll(async () => {
    current = await startArena(options);
  });
  afterAll(() => current?.close());
  afterEach(() => {
    for (const c of opened) c.close();
    opened = [];
  });
  const track = <T extends Recorded>(c: T): T => {
    opened.push(c);
    return c;
  };
  /** The running arena (its members read once the tests run). */
  const arena: Omit<Arena, "close"> = {
    get server() {
      return current!.server;
    },
    get url() {
      return current!.url;
    },
    get dataDir() {
      return current!.dataDir;
    },
  };
  const host$ = async (code: string, host: Host) => track(await connectHost(arena.url, code, host));
  const join$ = async (code: string, pseudonym: string) => track(await joinAs(arena.url, code, pseudonym));
  return {
    arena,
    track,
    host$,
    join$,
    /** `startGame` on this arena, its clients closed after the test. */
    game$: <const P extends readonly string[] = readonly ["Ana", "Bo"]>(options: { pseudonyms?: P; input?: SessionInput } = {}) =>
      startGame(arena.url, options, { host: host$, join: join$ }),
    connect$: async (code: string) => track(await connect(arena.url, code)),
    rejoin$: async (code: string, token: string) => track(await rejoinAs(arena.url, code, token)),
  };
}
