import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { getRequestListener } from "@hono/node-server";
import { WebSocketServer } from "ws";
import { CLOSE_CODES } from "../core/error-codes.js";
import { createIdSource } from "../core/ids.js";
import { LogThrottle } from "../core/log-throttle.js";
import type { KvStore, Logger } from "../core/ports.js";
import { AlarmClock } from "./alarm-clock.js";
import { Committer } from "./committer.js";
import { Inspector } from "./inspector/inspector.js";
import type { MetricsEndpoint } from "./metrics-endpoint.js";
import type { ResolvedOptions } from "./options.js";
import { recoverSqlFiles } from "./recovery.js";
import type { RefusedFrames } from "./refused-frames.js";
import { createRequestIds, withRequestIds } from "./request-ids.js";
import { Rooms, type RoomSlot } from "./rooms.js";
import type { UpgradeRequest } from "../core/instance.js";
import type { RoomAccess } from "../core/define-room.js";
import { instanceFor } from "../core/router.js";
import { upgradeOriginAllowed, upgradePath, type Router, toWebRequest } from "./routes.js";
import { Sockets } from "./sockets.js";
import { SharedDb } from "./sqlite/shared-db.js";
import { Sweep } from "./sweep.js";

/** How long closing sockets may take to say goodbye on shutdown before they are cut. */
const CLOSE_GRACE_MS = 1000;

/** Internal: everything a listening server runs, wired together; `shutdown` takes it apart. */
export interface Running {
  shared: SharedDb;
  kvStore: KvStore;
  committer: Committer;
  alarms: AlarmClock;
  rooms: Rooms;
  sockets: Sockets;
  http: Server;
  /** Stops timers and closes files at once (a failed listen). */
  stop(): void;
  shutdown(timeoutMs: number): Promise<void>;
}

export function start(
  o: ResolvedOptions,
  log: Logger,
  router: Router,
  counters: RefusedFrames,
  now: () => number,
  closing: () => boolean,
  access?: RoomAccess,
  endpoint?: MetricsEndpoint,
): Running {
  const metrics = endpoint?.metrics;
  const shared = new SharedDb(o.dataDir, o.durability);
  if (shared.getMeta("clean_shutdown") !== "1") {
    const recovered = recoverSqlFiles(shared, o.dataDir, o.durability, o.limits);
    if (recovered > 0) log.info({ instances: recovered }, "applied SQL redo records after an unclean shutdown");
  }
  shared.setMeta("clean_shutdown", "0");
  shared.purgeExpiredKv(now());
  // Sessions of the last run are away since now; older ones and their anonymous state go.
  shared.recoverSessions(now(), now() - o.resumeWindowMs);

  const kvStore: KvStore = {
    get: (namespace, key) => shared.kvGet(namespace, key, now()),
    list: (namespace, prefix, after, limit) => shared.kvList(namespace, prefix, after, limit, now()),
  };
  const committer = new Committer(shared, o.limits, log, () => alarms.reschedule(), o.replayLogMaxEntries, metrics?.committed);
  const logTrim = new Sweep("trimming the replay log", log, (cutoff, rows) => shared.trimLogBefore(cutoff, rows));
  const kvPurge = new Sweep("purging expired KV entries", log, (cutoff, rows) => shared.purgeExpiredKv(cutoff, rows));
  const rooms = new Rooms({
    shared,
    kvStore,
    committer,
    dataDir: o.dataDir,
    durability: o.durability,
    limits: o.limits,
    hibernateAfterMs: o.hibernateAfterMs,
    resumeWindowMs: o.resumeWindowMs,
    log,
    throttle: new LogThrottle(10, now),
    now,
    newId: createIdSource(now),
    alarmSettled: (id, retry) => alarms.settled(id, retry),
    alarmsChanged: () => alarms.reschedule(),
    access,
    metrics,
  });
  const unknownKinds = new Set<string>();
  const alarms = new AlarmClock(
    shared,
    (alarm) => {
      const def = router.kind(alarm.kind);
      if (!def) {
        if (!unknownKinds.has(alarm.kind)) log.warn({ room: alarm.kind, instance: alarm.instanceName }, "alarm for a room kind this server does not define; kept for later");
        unknownKinds.add(alarm.kind);
        return false;
      }
      metrics?.alarmDispatched(now() - alarm.dueAt);
      rooms.dispatch(rooms.slot(def, alarm.instanceName), { type: "alarm", alarm });
      return true;
    },
    now,
    log,
  );
  const sockets = new Sockets({
    rooms,
    eventsPerSecond: o.eventsPerSecond,
    burst: o.burst,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    now,
    closing,
    counters,
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxPayloadBytes, perMessageDeflate: false, clientTracking: false });
  const inspector = o.inspector
    ? new Inspector(o.inspector, { shared, rooms, kinds: o.rooms.map((r) => r.name), dataDir: o.dataDir, now, unavailable: () => closing() || !shared.db.open, log })
    : undefined;
  const requestId = createRequestIds();
  // The inspector's requests get ids too, for its log lines.
  const app = withRequestIds(inspector ? inspector.wrap(httpListener(o.http)) : httpListener(o.http), requestId);
  const http = createHttpServer(endpoint ? endpoint.wrap(app) : app);
  http.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // No error listener yet: none is emitted before this handler returns. `ws` handles the
    // socket's errors once it has it (accept); `destroy` does while a route is picked, or
    // after a refusal.
    // The id, before the Web Request is made: authenticate and the room's log lines see it.
    const req = requestId(request);
    const refuse = (status: number, code: string) => {
      // Anyone can provoke these: debug only, and no query string (it may carry credentials).
      log.debug({ req, path: request.url?.split("?")[0], status, code }, "upgrade refused");
      if (socket.listeners("error").length === 0) socket.on("error", destroy);
      refuseUpgrade(socket, status, code);
    };
    if (closing()) return refuse(503, "SHUTTING_DOWN");
    const route = router.match(upgradePath(request.url));
    if (!route) return refuse(404, "ROOM_NOT_FOUND");
    if (!upgradeOriginAllowed(request, o.allowedOrigins)) return refuse(403, "ORIGIN_NOT_ALLOWED");
    if (!route.routed) {
      // Only `authenticate` reads the Web Request (see UpgradeRequest): other rooms get its id.
      const upgrade = route.def.options.authenticate ? toWebRequest(request) : { requestId: req };
      return accept(wss, sockets, request, socket, head, rooms.slot(route.def, route.id), upgrade);
    }
    const webRequest = toWebRequest(request);
    socket.on("error", destroy);
    // The room picks its instance from the request (its `route`).
    void instanceFor(route, webRequest).then((picked) => {
      if (socket.destroyed) return;
      if (closing()) return refuse(503, "SHUTTING_DOWN");
      if ("id" in picked) {
        socket.off("error", destroy);
        return accept(wss, sockets, request, socket, head, rooms.slot(route.def, picked.id), webRequest);
      }
      if (picked.error !== undefined) log.error({ err: picked.error, room: route.def.name, req }, "route failed");
      refuse(picked.status, picked.code);
    });
  });

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => void) => {
    const timer = setInterval(fn, ms);
    timer.unref();
    timers.push(timer);
  };
  const shortest = Math.min(o.hibernateAfterMs, ...o.rooms.map((r) => r.options.hibernateAfterMs ?? Infinity));
  if (Number.isFinite(shortest)) every(Math.min(1000, Math.max(5, shortest / 4)), () => rooms.sweep());
  if (o.heartbeatIntervalMs > 0) every(o.heartbeatIntervalMs, () => sockets.heartbeat());
  every(60_000, () => void kvPurge.run(now()));
  if (o.resumeWindowMs > 0) {
    every(Math.max(50, Math.min(5000, o.resumeWindowMs / 4)), () => rooms.expireSessions());
    // Frames older than the window plus a margin cannot be missed by a session still in it
    // (a dead socket is found by the heartbeat well within the margin).
    const keepMs = o.resumeWindowMs + Math.max(60_000, 2 * o.heartbeatIntervalMs);
    every(Math.min(60_000, keepMs), () => void logTrim.run(now() - keepMs));
  }
  alarms.reschedule();

  /** Stops everything and closes the files; `clean` records an orderly stop (no recovery scan next start). */
  const teardown = (clean: boolean) => {
    for (const timer of timers) clearInterval(timer);
    alarms.stop();
    inspector?.close();
    committer.close();
    logTrim.stop();
    kvPurge.stop();
    rooms.close();
    try {
      if (clean) shared.setMeta("clean_shutdown", "1");
      shared.close();
    } catch (error) {
      // A full or failing disk: what committed is safe; the next start recovers as after a crash.
      log.error({ err: error }, "could not close the database cleanly");
      if (shared.db.open) shared.db.close();
    }
  };
  /** Waits (polling, this is a shutdown) until `done` or the deadline. */
  const waitUntil = async (done: () => boolean, deadline: number) => {
    while (!done() && now() < deadline) await sleep(5);
  };

  return {
    shared,
    kvStore,
    committer,
    alarms,
    rooms,
    sockets,
    http,
    stop: () => teardown(false),
    async shutdown(timeoutMs) {
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      for (const timer of timers) clearInterval(timer);
      alarms.stop();
      // Handlers already queued run to the end and commit; new events get SHUTTING_DOWN.
      await waitUntil(() => !rooms.busy(), now() + timeoutMs);
      if (rooms.busy()) log.warn({ timeoutMs }, "shutdown timed out with handlers still running");
      sockets.closeAll(CLOSE_CODES.SERVICE_RESTART, "SERVICE_RESTART");
      await waitUntil(() => sockets.all.size === 0, now() + CLOSE_GRACE_MS);
      for (const connection of sockets.all) connection.ws.terminate();
      // A terminated socket's close event comes a moment later; its onDisconnect must run
      // before the files close, and commit.
      await waitUntil(() => sockets.all.size === 0 && !rooms.busy(), now() + CLOSE_GRACE_MS);
      committer.flush();
      teardown(true);
      http.closeAllConnections();
      await httpClosed;
    },
  };
}

function destroy(this: Duplex): void {
  this.destroy();
}

/**
 * Completes an upgrade. A function of its own so that no listener left on the socket shares
 * a closure with the Web Request: it is held only until the client's hello.
 */
function accept(wss: WebSocketServer, sockets: Sockets, request: IncomingMessage, socket: Duplex, head: Buffer, slot: RoomSlot, upgrade: UpgradeRequest): void {
  // `ws` handles the socket's errors from here on.
  wss.handleUpgrade(request, socket, head, (ws) => sockets.attach(ws, slot, upgrade));
}

function httpListener(app: ResolvedOptions["http"]): RequestListener {
  if (app === undefined) {
    return (_req, res) => {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found");
    };
  }
  if (typeof app === "function") return app;
  return getRequestListener((request, env) => app.fetch(request, env), { overrideGlobalObjects: false });
}

function refuseUpgrade(socket: Duplex, status: number, code: string): void {
  const reason = { 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable" }[status] ?? "Error";
  const body = JSON.stringify({ code });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
}
