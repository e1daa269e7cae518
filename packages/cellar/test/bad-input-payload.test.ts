import { afterEach, describe, expect, it } from "vitest";
import type { RoomDefinition } from "cellar";
import type { TestServer } from "cellar/testing";
import { runs, settings, valibotProfile, zodProfile } from "./fixtures/bad-input-rooms.js";
import { expectSafeError, RawSocket, useCheckedServer } from "./helpers/raw-socket.js";

// Guarantee 7 for payloads: a payload that fails the handler's schema, or that carries a
// key able to reach a prototype, is refused before the handler runs; nothing changes.

const env = useCheckedServer({ rooms: [] });
const sockets = env.sockets;
afterEach(() => {
  // Should a test fail by polluting the prototype, the next tests must not inherit it.
  for (const key of Object.keys(Object.prototype)) delete (Object.prototype as Record<string, unknown>)[key];
});

async function room(def: RoomDefinition<any, any>): Promise<{ server: TestServer["server"]; attacker: RawSocket; bystander: RawSocket }> {
  const t = await env.start({ rooms: [def] });
  const attacker = await RawSocket.connect(t.server.roomUrl(def.name, "r"));
  const bystander = await RawSocket.connect(t.server.roomUrl(def.name, "r"));
  sockets.push(attacker, bystander);
  return { server: t.server, attacker, bystander };
}

describe.each([
  ["zod", zodProfile],
  ["valibot", valibotProfile],
])("a handler with a %s schema", (_lib, def) => {
  const invalid: Array<[string, unknown]> = [
    ["a missing field", { name: "bob" }],
    ["a field of the wrong type", { name: 5, age: 30 }],
    ["a string that is too long", { name: "b".repeat(21), age: 30 }],
    ["a number out of range", { name: "bob", age: -1 }],
    ["a fraction where an integer is due", { name: "bob", age: 1.5 }],
    ["null", null],
    ["no data at all", undefined],
    ["an array", [{ name: "bob", age: 30 }]],
    ["a string", "bob"],
  ];

  it.each(invalid)("refuses %s with INVALID_PAYLOAD without running the handler", async (_name, data) => {
    const { attacker, bystander } = await room(def);
    const before = runs.profile;
    attacker.send({ t: "req", id: 7, event: "profile:set", data });
    expectSafeError(await attacker.next(), "INVALID_PAYLOAD", { id: 7 });
    expect(runs.profile).toBe(before);
    expect(await attacker.request("profile:get")).toMatchObject({ t: "ack", data: { name: "anon", age: 0 } });
    expect(await bystander.request("profile:get")).toMatchObject({ t: "ack", data: { name: "anon", age: 0 } });
  });

  it("names the failing field in the error message", async () => {
    const { attacker } = await room(def);
    attacker.send({ t: "req", id: 7, event: "profile:set", data: { name: "bob", age: "old" } });
    const frame = await attacker.next();
    expectSafeError(frame, "INVALID_PAYLOAD", { id: 7 });
    expect(frame.message).toContain("age");
  });

  it("answers an invalid emit with INVALID_PAYLOAD naming the event", async () => {
    const { attacker } = await room(def);
    attacker.send({ t: "emit", event: "profile:set", data: { name: "" } });
    expectSafeError(await attacker.next(), "INVALID_PAYLOAD", { event: "profile:set" });
  });

  it("keeps the persisted state unchanged and still applies a valid payload", async () => {
    const { server, attacker, bystander } = await room(def);
    for (const [, data] of invalid) attacker.send({ t: "emit", event: "profile:set", data });
    expect(await attacker.request("profile:get")).toMatchObject({ data: { name: "anon", age: 0 } });
    expect(server.hibernate(def.name, "r")).toBe(1);
    expect(await bystander.request("profile:get")).toMatchObject({ t: "ack", data: { name: "anon", age: 0 } });
    expect(await attacker.request("profile:set", { name: "bob", age: 30 })).toMatchObject({ t: "ack", data: { name: "bob", age: 30 } });
    expect(await bystander.request("profile:get")).toMatchObject({ t: "ack", data: { name: "bob", age: 30 } });
  });
});

describe("prototype-pollution keys", () => {
  const polluting: Array<[string, string]> = [
    ["__proto__ at the top of the payload", '{"__proto__":{"polluted":"yes"}}'],
    ["constructor.prototype", '{"constructor":{"prototype":{"polluted":"yes"}}}'],
    ["prototype", '{"prototype":{"polluted":"yes"}}'],
    ["__proto__ deep inside an array", '{"a":[1,{"b":[{"__proto__":{"polluted":"yes"}}]}]}'],
    ["__proto__ spelled with JSON escapes", '{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":"yes"}}'],
    ["constructor.prototype spelled with JSON escapes", '{"\\u0063onstructor":{"\\u0070rototype":{"polluted":"yes"}}}'],
  ];

  it.each(polluting)("refuses %s with FORBIDDEN_KEY", async (_name, data) => {
    const { server, attacker, bystander } = await room(settings);
    const before = runs.merge;
    attacker.send(`{"t":"req","id":5,"event":"settings:merge","data":${data}}`);
    expectSafeError(await attacker.next(), "FORBIDDEN_KEY", { id: 5 });
    expect(server.stats().refusedFrames.bad).toBe(1);
    expect(runs.merge).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(await attacker.request("settings:get")).toMatchObject({ t: "ack", data: { theme: "light" } });
    expect(await bystander.request("settings:get")).toMatchObject({ t: "ack", data: { theme: "light" } });
  });

  it("refuses a forbidden key beside the payload, in the frame itself", async () => {
    const { attacker } = await room(settings);
    attacker.send('{"t":"req","id":5,"event":"settings:merge","data":{},"__proto__":{"polluted":"yes"}}');
    expectSafeError(await attacker.next(), "FORBIDDEN_KEY", { id: 5 });
    expect(await attacker.request("settings:get")).toMatchObject({ t: "ack", data: { theme: "light" } });
  });

  it("refuses a forbidden key in an emit", async () => {
    const { attacker } = await room(settings);
    attacker.send('{"t":"emit","event":"settings:merge","data":{"__proto__":{"polluted":"yes"}}}');
    expectSafeError(await attacker.next(), "FORBIDDEN_KEY");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await attacker.request("settings:get")).toMatchObject({ t: "ack", data: { theme: "light" } });
  });

  it("accepts keys and values that merely contain those words", async () => {
    const { server, attacker } = await room(settings);
    const data = { protoName: "__proto__", constructorOf: "constructor", prototypes: "prototype", nested: { hasOwnProperty_: 1 } };
    expect(await attacker.request("settings:merge", data)).toMatchObject({ t: "ack", data: { theme: "light", ...data } });
    expect(server.stats().refusedFrames.bad).toBe(0);
  });
});
