import { describe, expect, it } from "vitest";
import { OutputGate, type GateHost } from "./output-gate.js";
import { WriteSet } from "./write-set.js";

/*
 * What the gate asks of its host, and when frames leave. How a host answers (the Node
 * committer's timers) is exercised by every test that connects; what clients see of the
 * gate is in test/conformance/output-gate.test.ts.
 */

function sessionRow(id: string): WriteSet {
  const writes = new WriteSet();
  writes.setSession(id, { secretHash: "h", userId: null, channels: null });
  return writes;
}

function recordingHost(soon = true): { host: GateHost; asked: string[] } {
  const asked: string[] = [];
  const host: GateHost = {
    requestCommit: () => asked.push("now"),
    ...(soon && { requestCommitSoon: () => asked.push("soon") }),
    onFailed: () => {},
  };
  return { host, asked };
}

describe("OutputGate: when a batch asks to commit", () => {
  it("a batch of connects asks for a commit soon, and at once when another handler's frames wait on it", () => {
    const { host, asked } = recordingHost();
    const gate = new OutputGate(host);
    const sent: string[] = [];
    gate.add({ connect: true, deliver: () => sent.push("welcome a"), fail: () => {} }, sessionRow("a"));
    gate.add({ connect: true, deliver: () => sent.push("welcome b"), fail: () => {} }, sessionRow("b"));
    expect(asked).toEqual(["soon", "soon"]);
    // An event that wrote nothing still waits behind the connects (ordering), so it cannot wait longer.
    gate.add({ deliver: () => sent.push("event reply"), fail: () => {} });
    expect(asked).toEqual(["soon", "soon", "now"]);
    expect(sent).toEqual([]);
    const batch = gate.take()!;
    expect([...batch.writes.sessions.keys()]).toEqual(["a", "b"]);
    gate.succeeded(batch);
    expect(sent).toEqual(["welcome a", "welcome b", "event reply"]);
  });

  it("the next batch asks for itself when the one committing settles: soon for connects only, at once otherwise", () => {
    const { host, asked } = recordingHost();
    const gate = new OutputGate(host);
    gate.add({ connect: true, deliver: () => {}, fail: () => {} }, sessionRow("a"));
    const first = gate.take()!;
    gate.add({ connect: true, deliver: () => {}, fail: () => {} }, sessionRow("b"));
    asked.length = 0;
    gate.succeeded(first);
    expect(asked).toEqual(["soon"]);
    const second = gate.take()!;
    const writes = new WriteSet();
    writes.putStorage("k", "1");
    gate.add({ deliver: () => {}, fail: () => {} }, writes);
    asked.length = 0;
    gate.succeeded(second);
    expect(asked).toEqual(["now"]);
  });

  it("a host without requestCommitSoon is asked at once, connects included", () => {
    const { host, asked } = recordingHost(false);
    const gate = new OutputGate(host);
    gate.add({ connect: true, deliver: () => {}, fail: () => {} }, sessionRow("a"));
    expect(asked).toEqual(["now"]);
  });
});
