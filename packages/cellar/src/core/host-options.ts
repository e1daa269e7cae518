/*
 * Internal: the options every host takes (Node's `createServer`, Cloudflare's
 * `createWorker`), validated in one place so both refuse the same values with the same words.
 */
import { RoomDefinition } from "./define-room.js";
import { cellarError } from "./errors.js";
import { STORAGE_LIMITS, type StorageLimits } from "./limits.js";

export interface HostOptions {
  /** The room kinds served. */
  rooms: RoomDefinition<any, any>[];
  /**
   * Origins allowed to open WebSockets. Default: same-origin browser pages and clients that
   * send no Origin (servers, CLIs). `"*"` allows every origin.
   */
  allowedOrigins?: readonly string[] | "*";
  /** Largest frame accepted (default 1 MiB); larger ones close the socket with 1009. */
  maxPayloadBytes?: number;
  /** Per-connection token bucket (default 100 events/s, burst 200). */
  rateLimit?: { eventsPerSecond?: number; burst?: number };
  /** Time a new socket has to send `hello` (default 10,000 ms). */
  handshakeTimeoutMs?: number;
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

export interface ResolvedHostOptions {
  rooms: RoomDefinition<any, any>[];
  allowedOrigins: readonly string[] | "*" | undefined;
  maxPayloadBytes: number;
  eventsPerSecond: number;
  burst: number;
  handshakeTimeoutMs: number;
  limits: StorageLimits;
  resumeWindowMs: number;
  replayLogMaxEntries: number;
}

/** A validator of one entry point's options: every message names the entry point and the field. */
export function optionChecks(entry: string) {
  const fail = (field: string, expected: string): never => {
    throw cellarError("INVALID_OPTION", `${entry}: ${field} must be ${expected}`);
  };
  const number = (value: unknown, field: string, min: number, max: number, fallback: number, integer = true): number => {
    if (value === undefined) return fallback;
    const ok = typeof value === "number" && value >= min && value <= max && (!integer || Number.isInteger(value) || value === Infinity);
    if (!ok) fail(field, `${integer ? "an integer" : "a number"} from ${min} to ${max}`);
    return value as number;
  };
  return { fail, number };
}

/** Validates the options every host shares. */
export function resolveHostOptions(options: HostOptions, entry: string): ResolvedHostOptions {
  const { fail, number } = optionChecks(entry);
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
  const origins = options.allowedOrigins;
  if (origins !== undefined && origins !== "*" && !(Array.isArray(origins) && origins.every((o) => typeof o === "string"))) {
    fail("allowedOrigins", `an array of origins like "https://example.com", or "*"`);
  }
  const rate = options.rateLimit ?? {};
  if (typeof rate !== "object" || rate === null) fail("rateLimit", "{ eventsPerSecond, burst }");
  const limits: StorageLimits = { ...STORAGE_LIMITS };
  for (const [name, value] of Object.entries(options.limits ?? {})) {
    if (!(name in STORAGE_LIMITS)) fail(`limits.${name}`, `one of ${Object.keys(STORAGE_LIMITS).join(", ")}`);
    const max = STORAGE_LIMITS[name as keyof StorageLimits];
    limits[name as keyof StorageLimits] = number(value, `limits.${name}`, 1, max, max);
  }
  return {
    rooms,
    allowedOrigins: origins,
    maxPayloadBytes: number(options.maxPayloadBytes, "maxPayloadBytes", 64, 100 * 1024 * 1024, 1024 * 1024),
    eventsPerSecond: number(rate.eventsPerSecond, "rateLimit.eventsPerSecond", 0.001, 1e9, 100, false),
    burst: number(rate.burst, "rateLimit.burst", 1, 1e9, 200),
    handshakeTimeoutMs: number(options.handshakeTimeoutMs, "handshakeTimeoutMs", 1, 3_600_000, 10_000),
    limits,
    resumeWindowMs: number(options.resumeWindowMs, "resumeWindowMs", 0, 7 * 24 * 3_600_000, 120_000),
    replayLogMaxEntries: number(options.replayLogMaxEntries, "replayLogMaxEntries", 1, 1e9, 10_000),
  };
}
