import type { RequestListener } from "node:http";
import type { Logger as PinoLogger } from "pino";
import { optionChecks, resolveHostOptions, type HostOptions, type ResolvedHostOptions } from "../core/host-options.js";
import type { Durability } from "./sqlite/shared-db.js";

/** Anything with a fetch handler: a Hono app, or `{ fetch }`. */
export interface FetchApp {
  fetch(request: Request, ...rest: any[]): Response | Promise<Response>;
}

export interface ServerOptions extends HostOptions {
  /** Where SQLite files live (default `./data`). */
  dataDir?: string;
  /** Port (default 8787; 0 picks a free one). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Handles every HTTP request that is not a room upgrade: a Hono app or a Node listener. */
  http?: FetchApp | RequestListener;
  /**
   * `"normal"` (default): WAL with synchronous=NORMAL; survives a process crash, may lose the
   * last commits on power loss. `"full"`: fsync on every commit; survives power loss.
   */
  durability?: Durability;
  /** Idle time before an instance leaves memory (default 10,000 ms). */
  hibernateAfterMs?: number;
  /** Server pings to find dead sockets (default 30,000 ms; 0 turns them off). */
  heartbeatIntervalMs?: number;
  /** Longest wait for running handlers on shutdown (default 10,000 ms). */
  shutdownTimeoutMs?: number;
  /** Signals that trigger a graceful shutdown (default SIGTERM and SIGINT; `false` for none). */
  signals?: readonly NodeJS.Signals[] | false;
  /** A pino logger to use; otherwise one is made at `logLevel` (default "info"). */
  logger?: PinoLogger;
  logLevel?: string;
}

export interface ResolvedOptions extends ResolvedHostOptions {
  dataDir: string;
  port: number;
  host: string;
  http: FetchApp | RequestListener | undefined;
  durability: Durability;
  hibernateAfterMs: number;
  heartbeatIntervalMs: number;
  shutdownTimeoutMs: number;
  signals: readonly NodeJS.Signals[];
  logger: PinoLogger | undefined;
  logLevel: string;
}

/** Validates `createServer` options; every message names the field and what it accepts. */
export function resolveOptions(options: ServerOptions): ResolvedOptions {
  const shared = resolveHostOptions(options, "createServer");
  const { fail, number } = optionChecks("createServer");
  const dataDir = options.dataDir ?? "./data";
  if (typeof dataDir !== "string" || dataDir === "") fail("dataDir", "a non-empty path");
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "") fail("host", "a host name or address");
  const http = options.http;
  if (http !== undefined && typeof http !== "function" && typeof (http as FetchApp)?.fetch !== "function") {
    fail("http", "a Hono app (or any object with fetch) or a Node request listener");
  }
  const durability = options.durability ?? "normal";
  if (durability !== "normal" && durability !== "full") fail("durability", `"normal" or "full"`);
  const signals: readonly NodeJS.Signals[] = options.signals === false ? [] : (options.signals ?? ["SIGTERM", "SIGINT"]);
  if (!Array.isArray(signals) || !signals.every((s) => typeof s === "string")) fail("signals", "an array of signal names, or false");
  return {
    ...shared,
    dataDir,
    port: number(options.port, "port", 0, 65535, 8787),
    host,
    http,
    durability,
    hibernateAfterMs: number(options.hibernateAfterMs, "hibernateAfterMs", 0, Infinity, 10_000),
    heartbeatIntervalMs: number(options.heartbeatIntervalMs, "heartbeatIntervalMs", 0, 3_600_000, 30_000),
    shutdownTimeoutMs: number(options.shutdownTimeoutMs, "shutdownTimeoutMs", 0, 3_600_000, 10_000),
    signals: signals as readonly NodeJS.Signals[],
    logger: options.logger,
    logLevel: options.logLevel ?? "info",
  };
}
