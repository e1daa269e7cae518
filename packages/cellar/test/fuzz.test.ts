import { afterAll, beforeAll, expect, it } from "vitest";
import fc from "fast-check";
import * as v from "valibot";
import { z } from "zod";
import { defineRoom } from "cellar";
import type { CellarClient } from "cellar/client";
import { startTestServer, type TestServer } from "cellar/testing";
import { expectNoLeak, RawSocket, type Frame } from "./helpers/raw-socket.js";

// Guarantee 7, fuzzed: thousands of random frames at a room. Only well-formed `add` and
// `label` frames may change its state, so after each run the persisted state must equal
// what those frames alone produce, every request among them must get its proper answer,
// and the server must keep serving everyone.

const addSchema = z.object({ n: z.number().int().min(1).max(10) });
const labelSchema = v.object({ text: v.pipe(v.string(), v.maxLength(16)) });

const fuzzRoom = defineRoom({ name: "fuzz", state: { total: 0, label: "" }, persistedKeys: ["total", "label"] });
fuzzRoom.on("add", { schema: addSchema }, (ctx, { n }) => (ctx.state.total += n));
fuzzRoom.on("label", { schema: labelSchema }, (ctx, { text }) => (ctx.state.label = text));
fuzzRoom.on("echo", (_ctx, data) => data);
fuzzRoom.on("crash", () => {
  throw new Error("internal fuzz secret");
});
fuzzRoom.on("get", (ctx) => ({ total: ctx.state.total, label: ctx.state.label }));

const STATEFUL = new Set(["add", "label"]);
const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);
const LAST_ID = Number.MAX_SAFE_INTEGER - 1; // the closing `get`; random ids stay far below
let nextCheckedId = 2 ** 50; // ids of the requests whose answers are checked

type Outgoing = { text: string } | { bytes: Uint8Array } | { checked: { t: "emit" | "req"; event: string; data: unknown } };

// --- Arbitraries -------------------------------------------------------------------------

const oddString = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", "*", "__proto__", "constructor", "prototype", "toString", "get", "echo", "crash", "\u0000", "x".repeat(129), "𝄞".repeat(64)),
);
const hugeNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-1, 1.5, -0, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER),
);
const nonStatefulEvent = fc.oneof(oddString, fc.jsonValue()).filter((e) => !STATEFUL.has(e as string));
const depth = fc.integer({ min: 1, max: 100_000 });

const randomText = fc.oneof(fc.string(), fc.string({ unit: "binary" })).map((text) => ({ text }));
const randomJson = fc.jsonValue().map((value) => ({ text: JSON.stringify(value) ?? "null" }));
const randomObject = fc
  .record(
    {
      t: fc.oneof(fc.constantFrom("emit", "req", "ping", "hello", "welcome", "ack", "error", "pong", "event"), oddString),
      id: fc.oneof(fc.nat(), hugeNumber, oddString),
      event: nonStatefulEvent,
      data: fc.jsonValue(),
      v: fc.oneof(fc.constant(1), hugeNumber),
      params: fc.jsonValue(),
    },
    { requiredKeys: [] },
  )
  .map((frame) => ({ text: JSON.stringify(frame) }));
const deepNesting = fc.tuple(depth, fc.constantFrom("array", "object", "echo")).map(([d, shape]) => {
  const deep = shape === "object" ? `${'{"a":'.repeat(d)}1${"}".repeat(d)}` : `${"[".repeat(d)}${"]".repeat(d)}`;
  return { text: shape === "echo" ? `{"t":"req","id":${d},"event":"echo","data":${deep}}` : deep };
});
const binary = fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ bytes }));

const withForbiddenKey = (data: object, key: string, nested: boolean): object => {
  const poison = {};
  Object.defineProperty(poison, key, { value: { polluted: true }, enumerable: true, configurable: true, writable: true });
  return nested ? { ...data, inner: [poison] } : { ...data, ...poison };
};
const addData = fc.record({ n: fc.oneof(fc.integer({ min: -3, max: 14 }), hugeNumber), extra: fc.jsonValue() }, { requiredKeys: ["n"] });
const labelData = fc.record({ text: fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: "grapheme", maxLength: 18 })) });
const statefulData = fc.oneof(
  { weight: 4, arbitrary: addData },
  { weight: 4, arbitrary: labelData },
  { weight: 2, arbitrary: fc.jsonValue() },
  { weight: 2, arbitrary: fc.tuple(fc.oneof(addData, labelData), fc.constantFrom(...FORBIDDEN), fc.boolean()).map(([d, k, n]) => withForbiddenKey(d, k, n)) },
);
const checked = fc
  .record({ t: fc.constantFrom("emit" as const, "req" as const), event: fc.constantFrom("add", "label"), data: statefulData })
  .map((frame) => ({ checked: frame }));

const frames = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: randomText },
    { weight: 3, arbitrary: randomJson },
    { weight: 5, arbitrary: randomObject },
    { weight: 1, arbitrary: deepNesting },
    { weight: 1, arbitrary: binary },
    { weight: 5, arbitrary: checked },
  ),
  { minLength: 60, maxLength: 160 },
);

// --- The model ---------------------------------------------------------------------------

function hasForbiddenKey(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== "object" || current === null) continue;
    for (const key of Object.keys(current)) {
      if (FORBIDDEN.has(key)) return true;
      stack.push((current as Record<string, unknown>)[key]);
    }
  }
  return false;
}

interface Expectation {
  id: number;
  answer: { t: "ack"; data: unknown } | { t: "error"; code: string };
}

/** Applies a checked frame, as the server reads it, to the model; returns its due answer. */
function apply(model: { total: number; label: string }, frame: { event: string; data: unknown }): Expectation["answer"] {
  if (hasForbiddenKey(frame)) return { t: "error", code: "FORBIDDEN_KEY" };
  if (frame.event === "add") {
    const parsed = addSchema.safeParse(frame.data);
    if (!parsed.success) return { t: "error", code: "INVALID_PAYLOAD" };
    return { t: "ack", data: (model.total += parsed.data.n) };
  }
  const parsed = v.safeParse(labelSchema, frame.data);
  if (!parsed.success) return { t: "error", code: "INVALID_PAYLOAD" };
  return { t: "ack", data: (model.label = parsed.output.text) };
}

// --- The run -----------------------------------------------------------------------------

let t: TestServer;
let bystander: CellarClient;
let sent = 0;
let run = 0;
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

beforeAll(async () => {
  t = await startTestServer({ rooms: [fuzzRoom], rateLimit: { eventsPerSecond: 1e9, burst: 1e9 } });
  bystander = await t.connect("fuzz", "bystander");
});
afterAll(() => t.close());

async function fuzzOnce(outgoing: Outgoing[]): Promise<void> {
  const id = `run-${run++}`;
  const socket = await RawSocket.connect(t.server.roomUrl("fuzz", id));
  try {
    const model = { total: 0, label: "" };
    const expected: Expectation[] = [];
    for (const item of outgoing) {
      sent++;
      if ("bytes" in item) socket.sendBinary(item.bytes);
      else if ("text" in item) socket.send(item.text);
      else {
        const frame = item.checked.t === "req" ? { ...item.checked, id: nextCheckedId++ } : item.checked;
        const text = JSON.stringify(frame);
        const answer = apply(model, JSON.parse(text));
        if ("id" in frame) expected.push({ id: frame.id, answer });
        socket.send(text);
      }
    }
    socket.send({ t: "req", id: LAST_ID, event: "get" });
    expect(await socket.answerTo(LAST_ID)).toEqual({ t: "ack", id: LAST_ID, data: model });

    for (const frame of socket.received) {
      expect(["welcome", "ack", "error", "pong"]).toContain(frame.t);
      expectNoLeak(frame);
    }
    for (const { id: requestId, answer } of expected) {
      const answers = socket.received.filter((f: Frame) => f.id === requestId && (f.t === "ack" || f.t === "error"));
      expect(answers).toHaveLength(1);
      expect(answers[0]).toMatchObject(answer);
    }
    // What was committed, read back from storage by a fresh connection to a woken instance.
    expect(t.server.hibernate("fuzz", id)).toBe(1);
    const reader = await RawSocket.connect(t.server.roomUrl("fuzz", id));
    expect(await reader.request("get")).toMatchObject({ t: "ack", data: model });
    reader.close();
    expect(await bystander.request("get")).toEqual({ total: 0, label: "" });
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
  } finally {
    socket.close();
  }
}

it("survives thousands of random frames with state equal to what the valid ones produce", async () => {
  await fc.assert(fc.asyncProperty(frames, fuzzOnce), { numRuns: 60 });
  expect(sent).toBeGreaterThan(2000);
  expect(t.server.stats().refusedFrames.bad).toBeGreaterThan(1000);
  // After the storm, a well-behaved client is served as usual.
  expect(await bystander.request("add", { n: 3 })).toBe(3);
  expect(await bystander.request("get")).toEqual({ total: 3, label: "" });
}, 60_000);
