import type { AddressInfo } from "node:net";
import { pino } from "pino";
import type { RoomAccess, RoomContext } from "../core/define-room.js";
import { CellarError, cellarError } from "../core/errors.js";
import { createKvNamespace, type KvNamespace } from "../core/kv-api.js";
import type { Logger } from "../core/ports.js";
import { openAdminSocket, type AdminRequest, type AdminSocket } from "./admin-socket.js";
import type { BackupResult } from "./backup/files.js";
import { LiveBackup, type BackupOptions } from "./backup/live-backup.js";
import type { CommitStats } from "./committer.js";
import { Metrics } from "./metrics.js";
import { MetricsEndpoint } from "./metrics-endpoint.js";
import { RefusedFrames } from "./refused-frames.js";
import { currentRequestId } from "./request-ids.js";
import { resolveOptions, type ResolvedOptions, type ServerOptions } from "./options.js";
import { Router, validInstanceId, roomUrl } from "./routes.js";
import { start, type Running } from "./runtime.js";

export interface ServerStats {
  /** Open sockets, in any phase. */
  connections: number;
  /** Instances in memory, and instances hibernated with connections still open. */
  rooms: { live: number; hibernated: number };
  commits: CommitStats;
  /** Frames refused as malformed/hostile, and by the rate limiter. */
  refusedFrames: { bad: number; rate: number };
  /** Alarms handed to instances and not yet settled. */
  alarmsInFlight: number;
}

/**
 * A Cellar server on Node: WebSocket rooms, the app's HTTP routes and SQLite storage on one
 * port.
 */
export interface CellarServer extends RoomAccess {
  /** Opens the data directory and starts listening. */
  listen(): Promise<{ url: string; port: number }>;
  /**
   * Graceful shutdown: stops accepting, lets running handlers finish and commit, then
   * closes every socket with 1012 (service restart) so clients reconnect at once.
   */
  close(): Promise<void>;
  /** `http://host:port` once listening. */
  readonly url: string;
  readonly port: number;
  /** The WebSocket URL of an instance: `ws://host:port/rooms/<kind>/<id>`. */
  roomUrl(kind: string, id: string): string;
  stats(): ServerStats;
  /**
   * Where Prometheus scrapes this server (the `metrics` option), once it listens; undefined
   * when metrics are off.
   */
  readonly metricsUrl: string | undefined;
  /** A KV namespace for code outside rooms (HTTP routes); writes commit at once. */
  kv(name: string): KvNamespace;
  /**
   * Runs `fn` inside an instance, in its queue like an event, and resolves with its result
   * once its writes have committed.
   *
   * @example
   * await server.invoke("session", code, (ctx) => { ctx.state.title = title; });
   */
  invoke<R>(kind: string, id: string, fn: (ctx: RoomContext<any>) => R | Promise<R>): Promise<Awaited<R>>;
  /** Hibernates idle instances now (all, one kind, or one instance); returns how many. */
  hibernate(kind?: string, id?: string): number;
  /**
   * Copies the whole data directory to `dest` (missing, or an empty directory; its parent
   * must exist) while the server keeps serving. The copy is what a crash at one moment
   * during the call would have left: everything acknowledged before the call is in it, and
   * no half of any commit. `cellar restore` puts it back. One backup runs at a time.
   *
   * @example
   * const { dest, bytes } = await server.backup(`/var/backups/cellar/${new Date().toISOString()}`);
   */
  backup(dest: string, options?: BackupOptions): Promise<BackupResult>;
  readonly log: Logger;
}

/**
 * Creates a Node server for the given rooms.
 *
 * @example
 * const server = createServer({ rooms: [counter], dataDir: "./data", http: app });
 * await server.listen();
 */
export function createServer(options: ServerOptions): CellarServer {
  return new NodeServer(resolveOptions(options));
}

class NodeServer implements CellarServer {
  readonly #o: ResolvedOptions;
  readonly log: Logger;
  readonly #router: Router;
  readonly #counters = new RefusedFrames();
  readonly #metrics: MetricsEndpoint | undefined;
  readonly #now = () => Date.now();
  #running: Running | undefined;
  #closing: Promise<void> | undefined;
  #address: AddressInfo | undefined;
  #backup: LiveBackup | undefined;
  #admin: AdminSocket | undefined;

  constructor(options: ResolvedOptions) {
    this.#o = options;
    this.log = options.logger ?? pino({ level: options.logLevel, base: { name: "cellar" } });
    this.#router = new Router(options.rooms);
    if (options.metrics) {
      const metrics = new Metrics(options.rooms.map((r) => r.name), () => this.#running, this.#counters, this.#now, options.metrics.nodeDefaults);
      this.#metrics = new MetricsEndpoint(metrics, options.metrics, this.log);
    }
  }

  get url(): string {
    if (!this.#address) throw cellarError("INVALID_OPTION", "The server is not listening yet");
    const host = this.#address.family === "IPv6" ? `[${this.#address.address}]` : this.#address.address;
    return `http://${host}:${this.#address.port}`;
  }

  get port(): number {
    return this.#address?.port ?? this.#o.port;
  }

  roomUrl(kind: string, id: string): string {
    return roomUrl(this.url, kind, id);
  }

  get metricsUrl(): string | undefined {
    return this.#address && this.#metrics?.url(this.url);
  }

  async listen(): Promise<{ url: string; port: number }> {
    if (this.#running) throw cellarError("INVALID_OPTION", "listen() was already called");
    const running = start(this.#o, this.log, this.#router, this.#counters, this.#now, () => this.#closing !== undefined, this, this.#metrics);
    this.#running = running;
    await new Promise<void>((resolve, reject) => {
      running.http.once("error", reject);
      running.http.listen(this.#o.port, this.#o.host, () => resolve());
    })
      .then(() => this.#metrics?.listen())
      .catch((error) => {
        running.http.close();
        running.stop();
        this.#running = undefined;
        throw error;
      });
    this.#address = running.http.address() as AddressInfo;
    for (const signal of this.#o.signals) process.on(signal, this.#onSignal);
    if (this.#o.adminSocket) {
      const admin = await openAdminSocket(this.#o.dataDir, this.#onAdminRequest, this.log);
      if (this.#closing) admin?.close(); // closed while it opened
      else this.#admin = admin;
    }
    this.log.info({ url: this.url, dataDir: this.#o.dataDir, durability: this.#o.durability, metrics: this.metricsUrl }, "cellar listening");
    return { url: this.url, port: this.port };
  }

  /** SIGTERM/SIGINT: graceful shutdown; a second signal while shutting down exits at once. */
  readonly #onSignal = (): void => {
    if (this.#closing) {
      this.log.warn({}, "second signal during shutdown: exiting now");
      process.exit(130);
    }
    void this.close();
  };

  close(): Promise<void> {
    return (this.#closing ??= this.#shutdown());
  }

  async #shutdown(): Promise<void> {
    const running = this.#running;
    if (!running) return;
    this.#admin?.close();
    // Before handlers are waited for: the backup holds some rooms' commits back.
    this.#backup?.abort(cellarError("SHUTTING_DOWN", "The server shut down during the backup"));
    await running.shutdown(this.#o.shutdownTimeoutMs);
    await this.#metrics?.close();
    for (const signal of this.#o.signals) process.off(signal, this.#onSignal);
    this.log.info({}, "cellar stopped");
  }

  stats(): ServerStats {
    const running = this.#running;
    return {
      connections: running?.sockets.all.size ?? 0,
      rooms: running?.rooms.counts() ?? { live: 0, hibernated: 0 },
      commits: { ...(running?.committer.stats ?? { transactions: 0, writes: 0, failures: 0 }) },
      refusedFrames: { bad: this.#counters.refusedBad, rate: this.#counters.refusedRate },
      alarmsInFlight: running?.alarms.inFlight ?? 0,
    };
  }

  kv(name: string): KvNamespace {
    const running = this.#requireRunning();
    return createKvNamespace(name, {
      store: running.kvStore,
      now: this.#now,
      layers: () => [],
      write: (namespace, key, record) => running.shared.kvWriteNow(namespace, key, record),
    });
  }

  invoke<R>(kind: string, id: string, fn: (ctx: RoomContext<any>) => R | Promise<R>): Promise<Awaited<R>> {
    const running = this.#requireRunning();
    const def = this.#router.kind(kind);
    if (!def) return Promise.reject(cellarError("ROOM_NOT_FOUND", `No room kind "${kind}"`));
    if (typeof id !== "string" || !validInstanceId(id)) {
      return Promise.reject(cellarError("INVALID_ARGUMENT", "Instance ids are 1 to 128 characters, without control characters or /"));
    }
    return new Promise((resolve, reject) => {
      running.rooms.dispatch(running.rooms.slot(def, id), { type: "invoke", fn, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  call<R = unknown>(kind: string, id: string, action: string, args?: unknown): Promise<R> {
    const def = this.#router.kind(kind);
    const fn = def?.actions.get(action);
    if (def && !fn) return Promise.reject(cellarError("UNKNOWN_ACTION", `Room kind "${kind}" has no action "${action}"`));
    // As on Cloudflare, where only a code and a message cross from the object: an error that
    // is not a CellarError is logged here and reaches the caller as INTERNAL_ERROR.
    const req = currentRequestId(); // the app's HTTP request making the call, if any
    return this.invoke(kind, id, (ctx) => fn!(ctx, args)).catch((error: unknown) => {
      if (error instanceof CellarError) throw error;
      this.log.error({ err: error, room: kind, instance: id, action, req }, "room action failed");
      throw cellarError("INTERNAL_ERROR", `Action "${action}" failed`, { cause: error });
    }) as Promise<R>;
  }

  hibernate(kind?: string, id?: string): number {
    return this.#running?.rooms.hibernateNow(kind, id) ?? 0;
  }

  backup(dest: string, options?: BackupOptions): Promise<BackupResult> {
    let running: Running;
    try {
      running = this.#requireRunning();
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#backup) return Promise.reject(cellarError("BACKUP_IN_PROGRESS", "A backup of this server is already running"));
    const { shared, committer, rooms } = running;
    const backup = (this.#backup = new LiveBackup({ shared, committer, rooms, dataDir: this.#o.dataDir, log: this.log }));
    return backup.run(dest, options).finally(() => {
      this.#backup = undefined;
    });
  }

  /** A request on the admin socket: `cellar backup`, or a check that a server runs here. */
  readonly #onAdminRequest = (request: AdminRequest): Promise<unknown> => {
    if (request.op === "ping") return Promise.resolve({ pid: process.pid, url: this.url });
    this.log.info({ dest: request.dest }, "backup requested on the admin socket");
    return this.backup(request.dest, request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs });
  };

  #requireRunning(): Running {
    if (!this.#running || this.#closing) throw cellarError("SHUTTING_DOWN", "The server is not running");
    return this.#running;
  }
}
