/**
 * The HTTP side (creating a session, the host index, the server's config), the room URL and
 * join link, the CSV export and the plain-words messages for the server's error codes.
 */
import type { ApiError, CreateSessionRequest, CreateSessionResponse, HostIndexEntry, Ranking, ServerConfig, SessionInput } from "../../src/shared/protocol.js";
import { LIMITS, ROOM_KIND } from "../../src/shared/protocol.js";
import { hostIdentity, renewHostId } from "./storage.js";

/** An HTTP or room refusal with the server's code, and the problems when it has them. */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly problems: ApiError["problems"] = [],
  ) {
    super(message);
  }
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

function asApiError(body: unknown, status: number): RequestError {
  const error = body as Partial<ApiError> | undefined;
  if (error && typeof error.code === "string") return new RequestError(error.code, friendlyMessage(error.code, error.message), error.problems ?? []);
  return new RequestError(`HTTP_${status}`, `The server answered ${status}; try again in a moment.`);
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    throw new RequestError("NETWORK", "The server cannot be reached. Check the connection and try again.");
  }
}

/** Creates a session; a host id owned by another key is replaced once and the request retried. */
export async function createSession(session: SessionInput): Promise<string> {
  let identity = hostIdentity();
  for (let attempt = 0; ; attempt++) {
    const body: CreateSessionRequest = { ...session, ...identity };
    const response = await send("/api/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const json = await readJson(response);
    if (response.status === 201) return (json as CreateSessionResponse).code;
    const error = asApiError(json, response.status);
    if (error.code === "HOST_ID_TAKEN" && attempt === 0) {
      identity = renewHostId();
      continue;
    }
    throw error;
  }
}

/** The host's sessions, newest first. */
export async function listSessions(): Promise<HostIndexEntry[]> {
  const { hostId, hostKey } = hostIdentity();
  const response = await send(`/api/hosts/${encodeURIComponent(hostId)}/sessions`, { headers: { authorization: `Bearer ${hostKey}` } });
  const json = await readJson(response);
  if (response.ok) return json as HostIndexEntry[];
  // A host that never created a session has no index yet: that is an empty list, not an error.
  if (response.status === 404) return [];
  throw asApiError(json, response.status);
}

// The config does not change while the server runs: one request per page load is enough. A
// failed request is forgotten so that the next screen to ask tries again.
let configRequest: Promise<ServerConfig> | undefined;
let configValue: ServerConfig | undefined;

/** `GET /api/config`, fetched once per page load. */
export function serverConfig(): Promise<ServerConfig> {
  configRequest ??= (async () => {
    const response = await send("/api/config", { headers: { accept: "application/json" } });
    const json = await readJson(response);
    if (!response.ok) throw asApiError(json, response.status);
    configValue = json as ServerConfig;
    return configValue;
  })().catch((error: unknown) => {
    configRequest = undefined;
    throw error;
  });
  return configRequest;
}

/** The config if it already arrived (so a screen mounted later starts with it, without a flash). */
export function cachedServerConfig(): ServerConfig | undefined {
  return configValue;
}

export function roomUrl(code: string): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/rooms/${ROOM_KIND}/${encodeURIComponent(code)}`;
}

/** localhost (and *.localhost), 127.x.x.x and [::1]: names only this computer can open. */
export function isLoopbackHost(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(name) || name === "[::1]" || name === "::1";
}

/**
 * The origin to give guests: the page's own, except on a loopback page, which phones cannot
 * open: then the server's first network origin, or, when it has none (it listens on loopback
 * only), the page's own with `unreachable` set so that the lobby can say why.
 * @example
 * shareOrigin({ origin: "http://localhost:8787", hostname: "localhost" }, ["http://192.168.1.20:8787"]);
 * // { origin: "http://192.168.1.20:8787", unreachable: false }
 */
export function shareOrigin(page: { origin: string; hostname: string }, lanOrigins: readonly string[] | undefined): { origin: string; unreachable: boolean } {
  if (!isLoopbackHost(page.hostname)) return { origin: page.origin, unreachable: false };
  const lan = lanOrigins?.[0];
  if (lan) return { origin: lan, unreachable: false };
  // Not known yet (config loading or failed): no hint rather than a wrong one.
  return { origin: page.origin, unreachable: lanOrigins !== undefined };
}

export function joinLink(code: string, origin: string = location.origin): string {
  return `${origin}/join/${encodeURIComponent(code)}`;
}

function csvField(value: string | number): string {
  // A guest's text starting like a formula (=, +, -, @, tab, CR) gets a leading ' so that a
  // spreadsheet shows it instead of evaluating it (numbers are ours and left alone).
  const text = typeof value === "string" && /^[=+\-@\t\r]/.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** rank,pseudonym,score with a header row, RFC 4180 quoting, CRLF line ends, formulas defused. */
export function rankingsCsv(rankings: readonly Ranking[]): string {
  const rows = [["rank", "pseudonym", "score"], ...rankings.map((r) => [r.rank, r.pseudonym, r.score])];
  return rows.map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

export function downloadCsv(code: string, rankings: readonly Ranking[]): void {
  const blob = new Blob([rankingsCsv(rankings)], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = `sommelier-arena-${code}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const MESSAGES: Record<string, string> = {
  SESSION_NOT_FOUND: "That code has no session — check the number on the TV.",
  TOO_MANY_ATTEMPTS: "Too many wrong codes from here. Wait a minute, then try again.",
  SESSION_LOCKED: "The host has locked this tasting: no new guests for now. Ask the host to unlock it.",
  SESSION_ENDED: "This tasting has ended.",
  SESSION_FULL: "This tasting is full.",
  PSEUDONYM_TAKEN: "Someone here already uses that name — pick another one.",
  INVALID_PSEUDONYM: `A name is 1 to ${LIMITS.pseudonymLength} characters.`,
  UNKNOWN_REJOIN_TOKEN: "We could not find you in that tasting any more. Join again with a name.",
  WRONG_HOST_KEY: "This tasting belongs to another host (or another browser).",
  NOT_HOST: "Only the host can do that.",
  WRONG_PHASE: "That is not possible right now — the game has moved on.",
  NO_PARTICIPANTS: "Wait for at least one guest to join.",
  QUESTION_CLOSED: "Time is up for this question.",
  WRONG_QUESTION: "That question is no longer open.",
  UNKNOWN_OPTION: "That answer is not one of the options.",
  TIMEOUT: "The server took too long to answer. Try again.",
  CONNECTION_LOST: "The connection dropped before the server answered. Try again.",
  CONNECTION_CLOSED: "The connection is closed. Reload the page to try again.",
  QUEUE_FULL: "Too much is waiting to be sent. Wait for the connection to come back.",
  RATE_LIMITED: "Slow down a little, then try again.",
  NO_CODE_AVAILABLE: "Every session code is in use right now; try again later.",
  UNAUTHORIZED: "This browser's host key was not accepted.",
};

/** The message to show for an error code (the server's own message when there is no better one). */
export function friendlyMessage(code: string, fallback?: string): string {
  return MESSAGES[code] ?? fallback ?? "Something went wrong; try again.";
}

/** Normalizes anything a request rejected with into a code and a plain message. */
export function describeError(error: unknown): { code: string; message: string } {
  const value = error as { code?: unknown; message?: unknown } | null;
  const code = typeof value?.code === "string" ? value.code : "UNKNOWN";
  const message = typeof value?.message === "string" ? value.message : undefined;
  return { code, message: friendlyMessage(code, message) };
}
