/*
 * Internal: the inspector's HTTP side (the `inspector` option of `createServer`): its page,
 * a JSON API, and a stream of updates (Server-Sent Events). Requests under its path are
 * answered here; everything else goes on to the app. Read-only: nothing here writes, wakes
 * an instance or queues work in one (see reader.ts).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { CellarError, cellarError } from "../../core/errors.js";
import { validInstanceId } from "../../core/router.js";
import type { Logger } from "../../core/ports.js";
import { COOKIE, InspectorAuth, LOGIN_MS, sameOrigin } from "./auth.js";
import { PAGE_FILES, PageFiles, type PageFile } from "./page-files.js";
import { InspectorReader, type InstanceQuery, type ReaderSources } from "./reader.js";
import { currentRequestId } from "../request-ids.js";

/** Open update streams at most (each re-reads its view once a second). */
export const MAX_STREAMS = 8;
const STREAM_INTERVAL_MS = 1000;
/** A comment line now and then keeps proxies from closing a quiet stream. */
const KEEPALIVE_TICKS = 15;
const MAX_OFFSET = 100_000;

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

export interface InspectorSettings {
  token: string;
  path: string;
}

export interface InspectorSources extends ReaderSources {
  now: () => number;
  /** The server is shutting down (or its files are closed): answer 503. */
  unavailable: () => boolean;
  log: Logger;
}

export class Inspector {
  readonly #path: string;
  readonly #auth: InspectorAuth;
  readonly #reader: InspectorReader;
  readonly #sources: InspectorSources;
  readonly #pages = new PageFiles();
  /** Open update streams, each with the function that ends it. */
  readonly #streams = new Map<ServerResponse, () => void>();

  constructor(settings: InspectorSettings, sources: InspectorSources) {
    this.#path = settings.path;
    this.#auth = new InspectorAuth(settings.token);
    this.#reader = new InspectorReader(sources);
    this.#sources = sources;
  }

  /** The app's listener, with the inspector's path answered first. */
  wrap(next: RequestListener): RequestListener {
    return (request, response) => {
      const pathname = (request.url ?? "/").split("?")[0]!;
      if (pathname !== this.#path && !pathname.startsWith(`${this.#path}/`)) return next(request, response);
      this.#handle(request, response, pathname.slice(this.#path.length)).catch((error: unknown) => this.#failed(response, error));
    };
  }

  /** Ends every update stream (shutdown). */
  close(): void {
    for (const end of [...this.#streams.values()]) end();
  }

  async #handle(request: IncomingMessage, response: ServerResponse, route: string): Promise<void> {
    const method = request.method ?? "GET";
    if (route === "") return redirect(response, `${this.#path}/`);
    if (route in PAGE_FILES) {
      if (method !== "GET" && method !== "HEAD") return refuse(response, 405, "INVALID_ARGUMENT", "Use GET");
      const page = PAGE_FILES[route as PageFile];
      const body = await this.#pages.get(route as PageFile);
      response.writeHead(200, { ...SECURITY_HEADERS, "content-type": page.type });
      response.end(method === "HEAD" ? undefined : body);
      return;
    }
    if (!route.startsWith("/api/")) return refuse(response, 404, "INVALID_ARGUMENT", "No such page");
    if (!sameOrigin(request)) return refuse(response, 403, "ORIGIN_NOT_ALLOWED", "The inspector answers same-origin requests only");
    if (this.#sources.unavailable()) return refuse(response, 503, "SHUTTING_DOWN", "The server is shutting down");
    const api = route.slice("/api".length);
    if (api === "/login") return this.#login(request, response);
    if (api === "/logout") return this.#logout(request, response);
    if (!this.#auth.allowed(request, this.#sources.now())) {
      response.setHeader("www-authenticate", 'Bearer realm="cellar-inspector"');
      return refuse(response, 401, "UNAUTHORIZED", "The inspector's token is missing or wrong");
    }
    if (method !== "GET") return refuse(response, 405, "INVALID_ARGUMENT", "Use GET");
    const query = new URL(request.url ?? "/", "http://localhost").searchParams;
    if (api === "/rooms") return sendJson(response, 200, this.#reader.list(listQuery(query)));
    const instance = /^\/rooms\/([^/]+)\/([^/]+)$/.exec(api);
    if (instance) return sendJson(response, 200, this.#instance(decode(instance[1]!), decode(instance[2]!), query));
    if (api === "/events") return this.#stream(request, response, query);
    return refuse(response, 404, "INVALID_ARGUMENT", "No such API");
  }

  #instance(kind: string, id: string, query: URLSearchParams) {
    const view = this.#reader.instance(kind, id, instanceQuery(query));
    if (!view) throw cellarError("ROOM_NOT_FOUND", `No instance "${id}" of "${kind}", in memory or on disk`);
    return view;
  }

  /**
   * `GET /api/events`: the list (or, with `kind` and `id`, one instance) now, then again each
   * time it changes. The view is read again once a second and sent only when it differs:
   * a quiet room costs one bounded read a second per open page, and nothing on the wire.
   */
  #stream(request: IncomingMessage, response: ServerResponse, query: URLSearchParams): void {
    const kind = query.get("kind");
    const id = query.get("id");
    const render =
      kind !== null && id !== null ? () => this.#instance(checkName(kind), checkName(id), query) : () => this.#reader.list(listQuery(query));
    // Arguments are checked before the stream opens: a bad one is a 400, not a stream of errors.
    render();
    if (this.#streams.size >= MAX_STREAMS) return refuse(response, 429, "RATE_LIMITED", `At most ${MAX_STREAMS} inspector pages may follow updates at once`);
    response.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8", "x-accel-buffering": "no" });
    response.write("retry: 2000\n\n");
    let last = "";
    let quiet = 0;
    const tick = () => {
      const s = this.#sources;
      // The login may expire, and the server may begin to shut down, while a page watches.
      if (s.unavailable() || !this.#auth.allowed(request, s.now())) return end();
      if (response.writableNeedDrain) return; // a slow reader gets the next change, not a backlog
      let text: string;
      try {
        text = JSON.stringify(render());
      } catch (error) {
        text = JSON.stringify({ error: this.#clientError(error) });
      }
      if (text !== last) {
        last = text;
        quiet = 0;
        response.write(`data: ${text}\n\n`);
      } else if (++quiet >= KEEPALIVE_TICKS) {
        quiet = 0;
        response.write(": keepalive\n\n");
      }
    };
    const timer = setInterval(tick, STREAM_INTERVAL_MS);
    timer.unref();
    const end = () => {
      clearInterval(timer);
      this.#streams.delete(response);
      response.end();
    };
    this.#streams.set(response, end);
    response.on("close", () => {
      clearInterval(timer);
      this.#streams.delete(response);
    });
    tick();
  }

  /** `POST /api/login` with `{ "token": "…" }` (JSON only: a cross-site form cannot send it): sets the login cookie. */
  async #login(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== "POST") return refuse(response, 405, "INVALID_ARGUMENT", "Use POST");
    if (!/^application\/json\b/i.test(request.headers["content-type"] ?? "")) return refuse(response, 415, "INVALID_ARGUMENT", "Send JSON");
    const body = await readBody(request, 4096);
    let token: unknown;
    try {
      token = (JSON.parse(body ?? "") as { token?: unknown }).token;
    } catch {
      token = undefined;
    }
    if (typeof token !== "string" || !this.#auth.tokenMatches(token)) return refuse(response, 401, "UNAUTHORIZED", "Wrong token");
    response.setHeader("set-cookie", this.#cookie(request, this.#auth.cookieValue(this.#sources.now()), LOGIN_MS / 1000));
    response.writeHead(204, SECURITY_HEADERS).end();
  }

  #logout(request: IncomingMessage, response: ServerResponse): void {
    if (request.method !== "POST") return refuse(response, 405, "INVALID_ARGUMENT", "Use POST");
    response.setHeader("set-cookie", this.#cookie(request, "", 0));
    response.writeHead(204, SECURITY_HEADERS).end();
  }

  #cookie(request: IncomingMessage, value: string, maxAgeSeconds: number): string {
    // Secure when the page came over HTTPS (directly, or through a proxy that says so).
    const https = (request.socket as { encrypted?: boolean }).encrypted === true || request.headers["x-forwarded-proto"] === "https";
    return `${COOKIE}=${value}; Path=${this.#path}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${https ? "; Secure" : ""}`;
  }

  #clientError(error: unknown): { code: string; message: string } {
    if (error instanceof CellarError) return error.toJSON();
    this.#sources.log.error({ err: error, req: currentRequestId() }, "inspector request failed");
    return { code: "INTERNAL_ERROR", message: "The inspector could not read this; see the server log" };
  }

  #failed(response: ServerResponse, error: unknown): void {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    const body = this.#clientError(error);
    const status = { ROOM_NOT_FOUND: 404, INVALID_ARGUMENT: 400, SHUTTING_DOWN: 503 }[body.code] ?? 500;
    refuse(response, status, body.code, body.message);
  }
}

function listQuery(query: URLSearchParams) {
  const kind = query.get("kind");
  return { kind: kind === null || kind === "" ? undefined : checkName(kind), offset: int(query, "offset", 0, MAX_OFFSET, 0), limit: int(query, "limit", 1, 200, 100) };
}

function instanceQuery(query: URLSearchParams): InstanceQuery {
  const prefix = query.get("prefix") ?? "";
  if (prefix.length > 2048) throw cellarError("INVALID_ARGUMENT", "prefix must be at most 2,048 characters");
  return { offset: int(query, "offset", 0, MAX_OFFSET, 0), limit: int(query, "limit", 1, 100, 50), prefix, log: int(query, "log", 1, 100, 20) };
}

function int(query: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const text = query.get(name);
  if (text === null || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw cellarError("INVALID_ARGUMENT", `${name} must be an integer from ${min} to ${max}`);
  return value;
}

function checkName(name: string): string {
  if (!validInstanceId(name)) throw cellarError("INVALID_ARGUMENT", "Kinds and ids are 1 to 128 characters, without control characters or /");
  return name;
}

function decode(part: string): string {
  try {
    return checkName(decodeURIComponent(part));
  } catch (error) {
    if (error instanceof CellarError) throw error;
    throw cellarError("INVALID_ARGUMENT", "Malformed percent-encoding in the path");
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { ...SECURITY_HEADERS, "content-type": "application/json; charset=utf-8" });
  response.end(JSON.stringify(body));
}

function refuse(response: ServerResponse, status: number, code: string, message: string): void {
  sendJson(response, status, { code, message });
}

function redirect(response: ServerResponse, location: string): void {
  response.writeHead(308, { ...SECURITY_HEADERS, location }).end();
}

/** The request body as text, or undefined past `max` bytes. */
async function readBody(request: IncomingMessage, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
