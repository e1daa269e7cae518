import { describe, expect, it } from "vitest";
import type { RoomDefinition } from "cellar";
import type { TestServer } from "cellar/testing";
import { invalidProfiles } from "./conformance/rooms.js";
import { runs, valibotProfile, zodProfile } from "./fixtures/bad-input-rooms.js";
import { expectSafeError, RawSocket, useCheckedServer } from "./helpers/raw-socket.js";

// Schemas from real libraries (zod, valibot) plug into `on(event, { schema })`: a payload
// that fails one is refused before the handler runs. The same checks with a hand-written
// Standard Schema, and prototype-pollution keys, run on every host in
// conformance/bad-input-payload.test.ts (its rooms cannot import these libraries).

const env = useCheckedServer({ rooms: [] });
const sockets = env.sockets;

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
  it.each(invalidProfiles)("refuses %s with INVALID_PAYLOAD without running the handler", async (_name, data) => {
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
    for (const [, data] of invalidProfiles) attacker.send({ t: "emit", event: "profile:set", data });
    expect(await attacker.request("profile:get")).toMatchObject({ data: { name: "anon", age: 0 } });
    expect(server.hibernate(def.name, "r")).toBe(1);
    expect(await bystander.request("profile:get")).toMatchObject({ t: "ack", data: { name: "anon", age: 0 } });
    expect(await attacker.request("profile:set", { name: "bob", age: 30 })).toMatchObject({ t: "ack", data: { name: "bob", age: 30 } });
    expect(await bystander.request("profile:get")).toMatchObject({ t: "ack", data: { name: "bob", age: 30 } });
  });
});
