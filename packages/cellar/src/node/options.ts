import type { RequestListener } from "node:http";
import type { Logger as PinoLogger } from "pino";
import { RoomDefinition } from "../core/define-room.js";
import { cellarError } from "../core/errors.js";
import { STORAGE_LIMITS, type StorageLimits } from "../core/limits.js";
import type { Durability } from "./sqlite/shared-db.js";

/** Anything with a fetch handler: a Hono app, or `{ fetch }`. */
export interface FetchApp {
  fetch(request: Request, ...rest: any[]): Response | Promise<Response>;
}

export interface ServerOptions {
  /** The room kinds served. */
  rooms: RoomDefinition<any, any>[];
  /** Where SQLite files live (default `./data`). */
  dataDir?: string;
  /** Port (default 8787; 0 picks a free one). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Handles every HTTP request that is not a room upgrade: a Hono app or a Node listener. */
  http?: FetchApp | RequestListener;
  /**
   * Origins allowed to open WebSockets. Default: same-origin browser pages and clients that
   * send no Origin (servers, CLIs). `"*"` allows every origin.
   */
  allowedOrigins?: readonly string[] | "*";
  /**
   * `"normal"` (default): WAL with synchronous=NORMAL; survives a process crash, may lose the
   * last commits on power loss. `"full"`: fsync on every commit; survives power loss.
   */
  durability?: Durability;
  /** Idle time before an instance leaves memory (default 10,000 ms). */
  hibernateAfterMs?: number;
  /** Largest frame accepted (default 1 MiB); larger ones close the socket with 1009. */
  maxPayloadBytes?: number;
  /** Per-connection token bucket (default 100 events/s, burst 200). */
  rateLimit?: { eventsPerSecond?: number; burst?: number };
  /** Time a new socket has to send `hello` (default 10,000 ms). */
  handshakeTimeoutMs?: number;
  /** Server pings to find dead sockets (default 30,000 ms; 0 turns them off). */
  heartbeatIntervalMs?: number;
  /** Longest wait for running handlers on shutdown (default 10,000 ms). */
  shutdownTimeoutMs?: number;
  /** Signals that trigger a graceful shutdown (default SIGTERM and SIGINT; `false` for none). */
  signals?: readonly NodeJS.Signals[] | false;
  /** A pino logger to use; otherwise one is made at `logLevel` (default "info"). */
  logger?: PinoLogger;
  logLevel?: string;
  /** Lower storage limits (for tests, or stricter deployments); raising them is refused. */
  limits?: Partial<StorageLimits>;
  /**
   * How long a client whose connection dropped may resume its session and get the frames it
   * missed (default 120,000 ms; 0 turns resume and the replay log off).
   */
  resumeWindowMs?: number;
  /** Frames each instance keeps in its replay log at most (default 10,000). */
  replayLogMaxEntries?: number;
}

export interface ResolvedOptions {
  rooms: RoomDefinition<any, any>[];
  dataDir: string;
  port: number;
  host: string;
  http: FetchApp | RequestListener | undefined;
  allowedOrigins: readonly string[] | "*" | undefined;
  durability: Durability;
  hibernateAfterMs: number;
  maxPayloadBytes: number;
  eventsPerSecond: number;
  burst: number;
  handshakeTimeoutMs: number;
  heartbeatIntervalMs: number;
  shutdownTimeoutMs: number;
  signals: readonly NodeJS.Signals[];
  logger: PinoLogger | undefined;
  logLevel: string;
  limits: StorageLimits;
  resumeWindowMs: number;
  replayLogMaxEntries: number;
}

function fail(field: string, expected: string): never {
  throw cellarError("INVALID_OPTION", `createServer: ${field} must be ${expected}`);
}

function number(value: unknown, field: string, min: number, max: number, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const ok = typeof value === "number" && value >= min && value <= max && (!integer || Number.isInteger(value) || value === Infinity);
  if (!ok) fail(field, `${integer ? "an integer" : "a number"} from ${min} to ${max}`);
  return value as number;
}

/** Validates `createServer` options; every message names the field and what it accepts. */
export function resolveOptions(options: ServerOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) fail("options", "an object");
  const { rooms } = options;
  if (!Array.isArray(rooms) || rooms.length === 0 || !rooms.every((r) => r instanceof RoomDefinition)) {
    fail("rooms", "a non-empty array of defineRoom(...) results");
  }
  const names = new Set<string>();
  for (const room of rooms) {
    if (names.has(room.name)) fail("rooms", `room kinds with distinct names ("${room.name}" appears twice)`);
    names.add(room.name);
  }
  const dataDir = options.dataDir ?? "./data";
  if (typeof dataDir !== "string" || dataDir === "") fail("dataDir", "a non-empty path");
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "") fail("host", "a host name or address");
  const http = options.http;
  if (http !== undefined && typeof http !== "function" && typeof (http as FetchApp)?.fetch !== "function") {
    fail("http", "a Hono app (or any object with fetch) or a Node request listener");
  }
  const origins = options.allowedOrigins;
  if (origins !== undefined && origins !== "*" && !(Array.isArray(origins) && origins.every((o) => typeof o === "string"))) {
    fail("allowedOrigins", `an array of origins like "https://example.com", or "*"`);
  }
  const durability = options.durability ?? "normal";
  if (durability !== "normal" && durability !== "full") fail("durability", `"normal" or "full"`);
  const signals: readonly NodeJS.Signals[] = options.signals === false ? [] : (options.signals ?? ["SIGTERM", "SIGINT"]);
  if (!Array.isArray(signals) || !signals.every((s) => typeof s === "string")) fail("signals", "an array of signal names, or false");
  const rate = options.rateLimit ?? {};
  if (typeof rate !== "object" || rate === null) fail("rateLimit", "{ eventsPerSecond, burst }");
  return {
    rooms,
    dataDir,
    port: number(options.port, "port", 0, 65535, 8787),
    host,
    http,
    allowedOrigins: origins,
    durability,
    hibernateAfterMs: number(options.hibernateAfterMs, "hibernateAfterMs", 0, Infinity, 10_000),
    maxPayloadBytes: number(options.maxPayloadBytes, "maxPayloadBytes", 64, 100 * 1024 * 1024, 1024 * 1024),
    eventsPerSecond: number(rate.eventsPerSecond, "rateLimit.eventsPerSecond", 0.001, 1e9, 100, false),
    burst: number(rate.burst, "rateLimit.burst", 1, 1e9, 200),
    handshakeTimeoutMs: number(options.handshakeTimeoutMs, "handshakeTimeoutMs", 1, 3_600_000, 10_000),
    heartbeatIntervalMs: number(options.heartbeatIntervalMs, "heartbeatIntervalMs", 0, 3_600_000, 30_000),
    shutdownTimeoutMs: number(options.shutdownTimeoutMs, "shutdownTimeoutMs", 0, 3_600_000, 10_000),
    signals: signals as readonly NodeJS.Signals[],
    logger: options.logger,
    logLevel: options.logLevel ?? "info",
    limits: resolveLimits(options.limits),
    resumeWindowMs: number(options.resumeWindowMs, "resumeWindowMs", 0, 7 * 24 * 3_600_000, 120_000),
    replayLogMaxEntries: number(options.replayLogMaxEntries, "replayLogMaxEntries", 1, 1e9, 10_000),
  };
}

function resolveLimits(limits: Partial<StorageLimits> | undefined): StorageLimits {
  const resolved: StorageLimits = { ...STORAGE_LIMITS };
  if (limits === undefined) return resolved;
  for (const [name, value] of Object.entries(limits)) {
    if (!(name in STORAGE_LIMITS)) fail(`limits.${name}`, `one of ${Object.keys(STORAGE_LIMITS).join(", ")}`);
    const max = STORAGE_LIMITS[name as keyof StorageLimits];
    resolved[name as keyof StorageLimits] = number(value, `limits.${name}`, 1, max, max);
  }
  return resolved;
}
