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
  /**
   * Listen on `<dataDir>/cellar.sock` (a named pipe on Windows), open only to this OS user,
   * so that `cellar backup` can ask the running server for a backup (default true).
   */
  adminSocket?: boolean;
  /** A pino logger to use; otherwise one is made at `logLevel` (default "info"). */
  logger?: PinoLogger;
  logLevel?: string;
  /**
   * A read-only web inspector of room kinds and instances (state, storage, SQL tables,
   * alarms, replay log, sessions), served under `path` on the server's own port to holders
   * of `token` (default off: the path is then the app's, like any other). See
   * docs/operations.md#inspector.
   *
   * @example
   * createServer({ rooms, inspector: { token: process.env.INSPECTOR_TOKEN! } }); // <url>/_cellar/inspector/
   */
  inspector?: InspectorOptions;
  /**
   * Prometheus metrics (default off). `true`: served at `http://127.0.0.1:9464/metrics`, a
   * listener of their own. An object sets that listener's `port`, `host`, `path` and an
   * optional `token`; a `token` with neither `port` nor `host` serves them on the server's
   * own port instead, to scrapes that send `Authorization: Bearer <token>`.
   *
   * @example
   * createServer({ rooms, metrics: { port: 9464 } });                      // 127.0.0.1:9464/metrics
   * createServer({ rooms, metrics: { token: process.env.METRICS_TOKEN } }); // <url>/metrics, bearer token
   */
  metrics?: boolean | MetricsOptions;
}

/** Where the Prometheus endpoint is served (see `ServerOptions.metrics`). */
export interface MetricsOptions {
  /** The port of the endpoint's own listener (default 9464; 0 picks a free one). */
  port?: number;
  /** The interface of that listener (default 127.0.0.1). */
  host?: string;
  /** The endpoint's path (default `/metrics`). */
  path?: string;
  /** What a scrape must send as `Authorization: Bearer <token>`: 16 to 1024 printable ASCII characters. */
  token?: string;
  /**
   * Also prom-client's own default metrics (event loop delay, GC durations, handles, file
   * descriptors; default false). They keep a 10 ms timer and a GC observer running, which
   * costs CPU on every event; memory and CPU are there either way.
   */
  nodeDefaults?: boolean;
}

export interface ResolvedMetricsOptions {
  path: string;
  token: string | undefined;
  nodeDefaults: boolean;
  /** The endpoint's own listener; undefined when it is served on the server's port. */
  listener: { port: number; host: string } | undefined;
}

/** Where the inspector is served and who may use it (see `ServerOptions.inspector`). */
export interface InspectorOptions {
  /** What a user types into the page, or a script sends as `Authorization: Bearer <token>`: 32 to 1024 printable ASCII characters. */
  token: string;
  /** Where the page and its API live (default `/_cellar/inspector`). */
  path?: string;
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
  adminSocket: boolean;
  logger: PinoLogger | undefined;
  logLevel: string;
  inspector: Required<InspectorOptions> | undefined;
  metrics: ResolvedMetricsOptions | undefined;
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
  const adminSocket = options.adminSocket ?? true;
  if (typeof adminSocket !== "boolean") fail("adminSocket", "true or false");
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
    adminSocket,
    logger: options.logger,
    logLevel: options.logLevel ?? "info",
    inspector: resolveInspector(options.inspector),
    metrics: resolveMetrics(options.metrics, options.port ?? 8787),
  };
}

function resolveMetrics(value: ServerOptions["metrics"], serverPort: number): ResolvedMetricsOptions | undefined {
  const { fail, number } = optionChecks("createServer");
  if (value === undefined || value === false) return undefined;
  if (value !== true && (typeof value !== "object" || value === null || Array.isArray(value))) fail("metrics", "true, false or { port, host, path, token }");
  const m: MetricsOptions = value === true ? {} : value;
  const path = m.path ?? "/metrics";
  if (typeof path !== "string" || !/^\/[^\s?#]{0,255}$/.test(path)) fail("metrics.path", `a path like "/metrics"`);
  const token = m.token;
  if (token !== undefined && (typeof token !== "string" || !/^[\x21-\x7e]{16,1024}$/.test(token))) {
    fail("metrics.token", "a string of 16 to 1024 printable ASCII characters, without spaces");
  }
  const nodeDefaults = m.nodeDefaults ?? false;
  if (typeof nodeDefaults !== "boolean") fail("metrics.nodeDefaults", "true or false");
  if (token !== undefined && m.port === undefined && m.host === undefined) return { path, token, nodeDefaults, listener: undefined };
  const port = number(m.port, "metrics.port", 0, 65535, 9464);
  if (port !== 0 && port === serverPort) fail("metrics.port", "another port than `port` (a token without a port serves metrics on `port`)");
  const host = m.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "") fail("metrics.host", "a host name or address");
  return { path, token, nodeDefaults, listener: { port, host } };
}

function resolveInspector(value: ServerOptions["inspector"]): Required<InspectorOptions> | undefined {
  const { fail } = optionChecks("createServer");
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("inspector", "{ token, path? }");
  const { token, path = "/_cellar/inspector" } = value;
  // Long enough that guessing is hopeless: the login has no lockout.
  if (typeof token !== "string" || !/^[\x21-\x7e]{32,1024}$/.test(token)) fail("inspector.token", "a string of 32 to 1024 printable ASCII characters, without spaces");
  if (typeof path !== "string" || !/^(\/[A-Za-z0-9._~-]+)+$/.test(path) || path.length > 256) {
    fail("inspector.path", `a path of 2 to 256 characters like "/_cellar/inspector": segments of letters, digits, ".", "_", "~" or "-", no trailing "/"`);
  }
  return { token, path };
}
