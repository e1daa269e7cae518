import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { ConnectOutcome, RoomObserver } from "../core/ports.js";
import { BucketHistogram, type Buckets } from "./bucket-histogram.js";
import { defineEventLoopMetric, defineProcessMetrics } from "./process-metrics.js";
import type { RefusedFrames } from "./refused-frames.js";
import type { Running } from "./runtime.js";

/*
 * Internal: the Node host's Prometheus metrics, in a registry of one server's own (two
 * servers in a process share nothing). The per-event path only adds to plain numbers (a
 * count, and a histogram's bucket: see bucket-histogram.ts); prom-client reads them, and
 * computes the gauges, when Prometheus scrapes. docs/operations.md#metrics lists them all.
 */

/** Distinct error codes counted per room kind; more (an app minting codes) count as "other". */
const MAX_CODES = 50;

const SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const LATENESS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 3600];

type Sample = readonly [labels: Record<string, string>, value: number];

/** What the core and the rooms count about one room kind, read at scrape time. */
export class RoomMetrics implements RoomObserver {
  ok = 0;
  readonly errors = new Map<string, number>();
  readonly connects: Record<ConnectOutcome, number> = { new: 0, resumed: 0, resynced: 0, refused: 0 };
  wakeups = 0;
  hibernations = 0;

  constructor(
    readonly kind: string,
    private readonly durations: Buckets,
  ) {}

  event(error: string | undefined, ms: number): void {
    this.durations.observe(ms / 1000);
    if (error === undefined) {
      this.ok++;
      return;
    }
    const code = this.errors.has(error) || this.errors.size < MAX_CODES ? error : "other";
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  connected(outcome: ConnectOutcome): void {
    this.connects[outcome]++;
  }
}

export class Metrics {
  readonly registry = new Registry();
  readonly #rooms = new Map<string, RoomMetrics>();
  readonly #commitBatch: Buckets;
  readonly #commitDuration: Buckets;
  readonly #alarmLateness: Buckets;
  /** Database counts, read once per scrape. */
  #counts: { alarms: number; alarmsDue: number; logRows: number } | undefined;

  /** `nodeDefaults`: prom-client's default metrics instead of the lean process metrics (see process-metrics.ts). */
  constructor(kinds: readonly string[], running: () => Running | undefined, refused: RefusedFrames, now: () => number, nodeDefaults = false) {
    const registry = this.registry;
    const durations = new BucketHistogram({
      name: "cellar_handler_duration_seconds",
      help: "How long client events' handlers ran (schema check included, commit not), by room kind.",
      labelNames: ["room"],
      buckets: SECONDS,
      registry,
    });
    for (const kind of kinds) this.#rooms.set(kind, new RoomMetrics(kind, durations.series({ room: kind })));
    this.#defineRooms(kinds, running, refused);
    const histogram = (name: string, help: string, buckets: number[]) => new BucketHistogram({ name, help, labelNames: [], buckets, registry }).series({});
    this.#commitBatch = histogram("cellar_commit_batch_size", "Instances whose writes one group commit took together.", BATCH_SIZES);
    this.#commitDuration = histogram("cellar_commit_duration_seconds", "How long a group commit took (every transaction of the turn).", SECONDS);
    this.#alarmLateness = histogram("cellar_alarm_lateness_seconds", "How long after their due time alarms were handed to their rooms.", LATENESS);
    this.#defineStorage(running, now);
    if (nodeDefaults) collectDefaultMetrics({ register: this.registry });
    else defineProcessMetrics(this.registry);
    defineEventLoopMetric(this.registry);
  }

  /** The counters of one room kind (the core's observer for its instances). */
  room(kind: string): RoomMetrics | undefined {
    return this.#rooms.get(kind);
  }

  /** A group commit took `instances` batches together in `ms`. */
  readonly committed = (instances: number, ms: number): void => {
    this.#commitBatch.observe(instances);
    this.#commitDuration.observe(ms / 1000);
  };

  alarmDispatched(lateMs: number): void {
    this.#alarmLateness.observe(Math.max(0, lateMs) / 1000);
  }

  /** The text Prometheus reads. */
  async render(): Promise<string> {
    this.#counts = undefined;
    return this.registry.metrics();
  }

  /** Connections, instances, events and frames: by room kind where they belong to one. */
  #defineRooms(kinds: readonly string[], running: () => Running | undefined, refused: RefusedFrames): void {
    const r = this.registry;
    const rooms = () => [...this.#rooms.values()];
    gauge(r, running, "cellar_connections", "Open WebSockets, by room kind.", ["room"], ({ sockets }) => {
      const open = new Map(kinds.map((kind) => [kind, 0]));
      for (const c of sockets.all) open.set(c.slot.def.name, (open.get(c.slot.def.name) ?? 0) + 1);
      return [...open].map(([room, n]) => [{ room }, n] as const);
    });
    gauge(r, running, "cellar_sessions_detached", "Sessions whose socket went away, waiting for a resume.", [], ({ rooms }) => [[{}, rooms.detachedSessions]]);
    gauge(r, running, "cellar_rooms", "Instances in memory (live), and hibernated with connections still open, by room kind.", ["room", "state"], ({ rooms }) => {
      const counts = rooms.countsByKind();
      return kinds.flatMap((room) => {
        const c = counts.get(room) ?? { live: 0, hibernated: 0 };
        return [[{ room, state: "live" }, c.live] as const, [{ room, state: "hibernated" }, c.hibernated] as const];
      });
    });
    counter(r, "cellar_room_wakeups_total", "Instances loaded again after this process hibernated them, by room kind.", ["room"], () =>
      rooms().map((m) => [{ room: m.kind }, m.wakeups] as const),
    );
    counter(r, "cellar_room_hibernations_total", "Instances hibernated (dropped from memory), by room kind.", ["room"], () =>
      rooms().map((m) => [{ room: m.kind }, m.hibernations] as const),
    );
    counter(r, "cellar_events_total", "Client events handled, by room kind and outcome: ok, or the error code the sender got.", ["room", "outcome"], () =>
      rooms().flatMap((m) => [[{ room: m.kind, outcome: "ok" }, m.ok] as const, ...[...m.errors].map(([outcome, n]) => [{ room: m.kind, outcome }, n] as const)]),
    );
    counter(r, "cellar_connects_total", "Handshakes by room kind and outcome: new, resumed, resynced (a resume refused: a fresh session), refused.", ["room", "outcome"], () =>
      rooms().flatMap((m) => Object.entries(m.connects).map(([outcome, n]) => [{ room: m.kind, outcome }, n] as const)),
    );
    counter(r, "cellar_refused_frames_total", "Frames refused before they reached a room, by the error code the sender got.", ["reason"], () =>
      [...refused.byCode].map(([reason, n]) => [{ reason }, n] as const),
    );
  }

  /** Commits, the replay log and alarms: read from the committer, the alarm clock and the database. */
  #defineStorage(running: () => Running | undefined, now: () => number): void {
    const r = this.registry;
    // One read of the database per scrape, and none once it closed (a scrape during shutdown).
    const counts = ({ shared }: Running) => (this.#counts ??= shared.db.open ? shared.counts(now()) : { alarms: 0, alarmsDue: 0, logRows: 0 });
    const commits = (field: "transactions" | "writes" | "failures") => () => [[{}, running()?.committer.stats[field] ?? 0] as const];
    counter(r, "cellar_commit_transactions_total", "SQLite transactions committed (the shared database and instances' SQL files).", [], commits("transactions"));
    counter(r, "cellar_commit_writes_total", "Rows written by committed transactions.", [], commits("writes"));
    counter(r, "cellar_commit_failures_total", "Batches whose commit failed (their senders got PERSIST_FAILED or STORAGE_LIMIT).", [], commits("failures"));
    gauge(r, running, "cellar_commit_waiting_batches", "Batches whose SQL file committed, waiting for the shared database to take their redo record.", [], ({ committer }) => [
      [{}, committer.stuck],
    ]);
    gauge(r, running, "cellar_replay_log_rows", "Frames held in the replay log, for clients that resume.", [], (run) => [[{}, counts(run).logRows]]);
    gauge(r, running, "cellar_alarms_scheduled", "Durable alarms scheduled.", [], (run) => [[{}, counts(run).alarms]]);
    gauge(r, running, "cellar_alarms_due", "Alarms due now and not yet done (running, or waiting for a turn or a retry).", [], (run) => [[{}, counts(run).alarmsDue]]);
    gauge(r, running, "cellar_alarms_in_flight", "Alarms handed to their instances and not settled yet.", [], ({ alarms }) => [[{}, alarms.inFlight]]);
  }
}

/** A gauge computed at scrape time (nothing while the server is not running). */
function gauge(registry: Registry, running: () => Running | undefined, name: string, help: string, labelNames: string[], read: (r: Running) => Iterable<Sample>): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      const r = running();
      if (r) for (const [labels, value] of read(r)) this.set(labels, value);
    },
  });
}

/** A counter kept as plain numbers elsewhere, read at scrape time. */
function counter(registry: Registry, name: string, help: string, labelNames: string[], read: () => Iterable<Sample>): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}
