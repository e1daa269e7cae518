import { describe, expect, it } from "vitest";
import { expectSafeError, type RawSocket } from "../helpers/raw-socket.js";
import { useHost } from "./harness.js";
import { useRawSockets } from "./raw.js";
import { invalidProfiles } from "./rooms.js";

// Guarantee 7 for payloads: a payload that fails the handler's schema, or that carries a
// key able to reach a prototype, is refused before the handler runs; nothing changes.

const hosts = useHost();
const raw = useRawSockets();

async function room(kind: string): Promise<{ attacker: RawSocket; bystander: RawSocket }> {
  const host = await hosts.start();
  const attacker = await raw.connect(host.roomUrl(kind, "r"));
  const bystander = await raw.connect(host.roomUrl(kind, "r"));
  return { attacker, bystander };
}

describe("a handler with a schema (Standard Schema)", () => {
  const untouched = { name: "anon", age: 0, runs: 0 };

  it("refuses each invalid payload with INVALID_PAYLOAD without running the handler; a valid one is applied", async () => {
    const { attacker, bystander } = await room("validated");
    for (const [name, data] of invalidProfiles) {
      attacker.send({ t: "req", id: 7, event: "profile:set", data });
      const frame = await attacker.next();
      expect(frame, name).toMatchObject({ t: "error", code: "INVALID_PAYLOAD" });
      expectSafeError(frame, "INVALID_PAYLOAD", { id: 7 });
    }
    for (const [, data] of invalidProfiles) attacker.send({ t: "emit", event: "profile:set", data });
    expect(await attacker.request("profile:get")).toMatchObject({ t: "ack", data: untouched });
    expect(await bystander.request("profile:get")).toMatchObject({ t: "ack", data: untouched });
    expect(await attacker.request("profile:set", { name: "bob", age: 30 })).toMatchObject({ t: "ack", data: { name: "bob", age: 30 } });
    expect(await bystander.request("profile:get")).toMatchObject({ t: "ack", data: { name: "bob", age: 30, runs: 1 } });
  });

  it("names the failing field in the error message, and the event of an invalid emit", async () => {
    const { attacker } = await room("validated");
    attacker.send({ t: "req", id: 7, event: "profile:set", data: { name: "bob", age: "old" } });
    const frame = await attacker.next();
    expectSafeError(frame, "INVALID_PAYLOAD", { id: 7 });
    expect(frame.message).toContain("age");
    attacker.send({ t: "emit", event: "profile:set", data: { name: "" } });
    expectSafeError(await attacker.next(), "INVALID_PAYLOAD", { event: "profile:set" });
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
  const untouched = { settings: { theme: "light" }, runs: 0, polluted: [] };

  it("refuses each with FORBIDDEN_KEY, in a request or an emit, before the handler runs; nothing is polluted", async () => {
    const { attacker, bystander } = await room("settings");
    for (const [name, data] of polluting) {
      attacker.send(`{"t":"req","id":5,"event":"settings:merge","data":${data}}`);
      const frame = await attacker.next();
      expect(frame, name).toMatchObject({ t: "error", code: "FORBIDDEN_KEY" });
      expectSafeError(frame, "FORBIDDEN_KEY", { id: 5 });
    }
    attacker.send('{"t":"emit","event":"settings:merge","data":{"__proto__":{"polluted":"yes"}}}');
    expectSafeError(await attacker.next(), "FORBIDDEN_KEY");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await attacker.request("settings:get")).toMatchObject({ t: "ack", data: untouched });
    expect(await bystander.request("settings:get")).toMatchObject({ t: "ack", data: untouched });
  });

  it("refuses a forbidden key beside the payload, in the frame itself", async () => {
    const { attacker } = await room("settings");
    attacker.send('{"t":"req","id":5,"event":"settings:merge","data":{},"__proto__":{"polluted":"yes"}}');
    expectSafeError(await attacker.next(), "FORBIDDEN_KEY", { id: 5 });
    expect(await attacker.request("settings:get")).toMatchObject({ t: "ack", data: untouched });
  });

  it("accepts keys and values that merely contain those words", async () => {
    const { attacker } = await room("settings");
    const data = { protoName: "__proto__", constructorOf: "constructor", prototypes: "prototype", nested: { hasOwnProperty_: 1 } };
    expect(await attacker.request("settings:merge", data)).toMatchObject({ t: "ack", data: { theme: "light", ...data } });
  });
});
