import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RoomInstance } from "../core/instance.js";
import { STORAGE_LIMITS } from "../core/limits.js";
import { OutputGate } from "../core/output-gate.js";
import type { Logger } from "../core/ports.js";
import { WriteSet } from "../core/write-set.js";
import { tempDataDir } from "../testing/test-server.js";
import { Committer } from "./committer.js";
import { NodeInstanceStore } from "./instance-store.js";
import { SharedDb } from "./sqlite/shared-db.js";

/*
 * The group commit's waits (committer.ts): a batch of connects only waits up to 1 ms for
 * others to share its transaction, deferred writes (an ended session's row) up to 100 ms,
 * and any group commit takes both along. Real SQLite and output gates; the clock is faked,
 * so each wait is held to its length, not to how fast this machine runs.
 */

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

interface Room {
  gate: OutputGate;
  store: NodeInstanceStore;
  /** Entries delivered: what the gate released once their writes committed. */
  delivered: string[];
}

let dataDir: string;
let shared: SharedDb;
let committer: Committer;

beforeEach(() => {
  vi.useFakeTimers();
  dataDir = tempDataDir();
  shared = new SharedDb(dataDir, "normal");
  committer = new Committer(shared, { ...STORAGE_LIMITS }, silent, () => {});
});

afterEach(() => {
  committer.close();
  shared.close();
  vi.useRealTimers();
});

function room(name: string): Room {
  const store = new NodeInstanceStore(shared, "chat", name, dataDir, "normal", { ...STORAGE_LIMITS });
  const gate = new OutputGate({
    requestCommit: () => committer.request(instance, store),
    requestCommitSoon: () => committer.requestSoon(instance, store),
    requestCommitLater: () => committer.requestLater(instance, store),
    onFailed() {},
  });
  // All the committer asks of an instance: its gate, and its batch.
  const instance = { gate, takeBatch: () => gate.take() } as unknown as RoomInstance;
  return { gate, store, delivered: [] };
}

/** A connect's entry and its new session row, as `onConnect` leaves them. */
function connect(r: Room, id: string): void {
  const writes = new WriteSet();
  writes.setSession(id, { secretHash: `hash-${id}`, userId: null, channels: null });
  r.gate.add({ connect: true, deliver: () => r.delivered.push(`welcome ${id}`), fail() {} }, writes);
}

/** An event's entry that logged one frame. */
function event(r: Room, seq: number): void {
  const writes = new WriteSet();
  writes.pushLog({ seq, at: 0, to: null, frame: `{"seq":${seq}}` });
  r.gate.add({ deliver: () => r.delivered.push(`event ${seq}`), fail() {} }, writes);
}

/** An ended session's row, deferred. */
function end(r: Room, id: string): void {
  const writes = new WriteSet();
  writes.setSession(id, null);
  r.gate.defer(writes);
}

const stored = (r: Room, id: string) => (r.store.rowId === undefined ? undefined : shared.session(r.store.rowId, id));

describe("the group commit's waits", () => {
  it("connects in two rooms within a millisecond share one transaction, their welcomes held until it", () => {
    const a = room("a");
    const b = room("b");
    connect(a, "c1");
    vi.advanceTimersByTime(0.5);
    connect(b, "c2");
    expect([a.delivered, b.delivered, committer.stats.transactions]).toEqual([[], [], 0]);
    vi.advanceTimersByTime(0.5);
    expect([a.delivered, b.delivered]).toEqual([["welcome c1"], ["welcome c2"]]);
    expect(committer.stats.transactions).toBe(1);
    expect(stored(a, "c1")?.secretHash).toBe("hash-c1");
    expect(stored(b, "c2")?.secretHash).toBe("hash-c2");
  });

  it("a waiting connect goes with the next group commit of any room, before its millisecond is up", () => {
    const a = room("a");
    const b = room("b");
    connect(a, "c1");
    event(b, 1);
    vi.advanceTimersToNextTimer(); // the turn's group commit (setImmediate), not the 1 ms timer
    expect([a.delivered, b.delivered]).toEqual([["welcome c1"], ["event 1"]]);
    expect(committer.stats.transactions).toBe(1);
  });

  it("an ended session's row waits up to 100 ms alone, then commits", () => {
    const a = room("a");
    connect(a, "c1");
    vi.advanceTimersByTime(1);
    end(a, "c1");
    vi.advanceTimersByTime(99);
    expect(stored(a, "c1")).toBeDefined();
    expect(a.gate.idle()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(stored(a, "c1")).toBeUndefined();
    expect(a.gate.idle()).toBe(true);
    expect(committer.stats.transactions).toBe(2);
  });

  it("an ended session's row joins another room's group commit instead of costing one", () => {
    const a = room("a");
    const b = room("b");
    connect(a, "c1");
    vi.advanceTimersByTime(1);
    end(a, "c1");
    vi.advanceTimersByTime(10);
    event(b, 1);
    vi.advanceTimersToNextTimer();
    expect(b.delivered).toEqual(["event 1"]);
    expect(stored(a, "c1")).toBeUndefined();
    // One for the connect, one shared by the event and the ended row.
    expect(committer.stats.transactions).toBe(2);
  });
});
