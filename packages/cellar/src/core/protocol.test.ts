import { describe, expect, it } from "vitest";
import { CellarError } from "./errors.js";
import { ackFrame, errorFrame, eventFrame, findForbiddenKey, parseClientFrame, parseServerFrame, PROTOCOL_VERSION, welcomeFrame } from "./protocol.js";

const code = (text: string) => {
  try {
    parseClientFrame(text);
    return "ok";
  } catch (error) {
    return (error as CellarError).code;
  }
};

describe("parseClientFrame", () => {
  it("reads each frame type", () => {
    expect(parseClientFrame('{"t":"hello","v":1,"params":{"a":1}}')).toEqual({ t: "hello", v: 1, params: { a: 1 } });
    expect(parseClientFrame('{"t":"emit","event":"x","data":[1]}')).toEqual({ t: "emit", event: "x", data: [1] });
    expect(parseClientFrame('{"t":"req","id":7,"event":"x"}')).toEqual({ t: "req", id: 7, event: "x", data: undefined });
    expect(parseClientFrame('{"t":"ping"}')).toEqual({ t: "ping" });
  });

  it("refuses malformed frames with BAD_FRAME", () => {
    for (const text of ["", "{", "[]", "null", "3", '{"t":"nope"}', '{"t":"emit"}', '{"t":"emit","event":""}', `{"t":"emit","event":"${"x".repeat(129)}"}`, '{"t":"req","id":-1,"event":"x"}', '{"t":"req","id":1.5,"event":"x"}', '{"t":"hello"}', '{"t":"hello","v":1,"params":[]}']) {
      expect(code(text), text).toBe("BAD_FRAME");
    }
  });

  it("refuses prototype-pollution keys anywhere, but not those words as values", () => {
    expect(code('{"t":"emit","event":"x","data":{"a":[{"__proto__":{"polluted":1}}]}}')).toBe("FORBIDDEN_KEY");
    expect(code('{"t":"emit","event":"x","data":{"constructor":{"prototype":1}}}')).toBe("FORBIDDEN_KEY");
    expect(code('{"t":"emit","event":"x","data":{"text":"constructor prototype __proto__"}}')).toBe("ok");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("walks deep payloads without recursion", () => {
    let deep: unknown = { __proto__x: 1 };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findForbiddenKey(deep)).toBeUndefined();
  });
});

describe("encoders", () => {
  it("omit undefined data and keep request ids", () => {
    expect(JSON.parse(eventFrame("e", undefined))).toEqual({ t: "event", event: "e" });
    expect(JSON.parse(ackFrame(3, { ok: true }))).toEqual({ t: "ack", id: 3, data: { ok: true } });
    expect(JSON.parse(errorFrame({ code: "X", message: "m" }, { id: 3 }))).toEqual({ t: "error", id: 3, code: "X", message: "m" });
  });
  it("write a welcome as JSON.stringify would", () => {
    const plain = { t: "welcome", v: PROTOCOL_VERSION, connectionId: "a\"b\\c\u2028", resumed: false };
    expect(welcomeFrame(plain.connectionId, false)).toBe(JSON.stringify(plain));
    const full = { ...plain, resumed: true, resumeToken: "id.s-_/\"", seq: 0, replayed: 12 };
    expect(welcomeFrame(full.connectionId, true, { resumeToken: full.resumeToken, seq: 0, replayed: 12 })).toBe(JSON.stringify(full));
    expect(welcomeFrame("x", false, { seq: 7 })).toBe(JSON.stringify({ t: "welcome", v: PROTOCOL_VERSION, connectionId: "x", resumed: false, seq: 7 }));
  });
});

describe("forbidden keys spelled with JSON escapes", () => {
  it("are found by the walk", () => {
    expect(code('{"t":"emit","event":"x","data":{"\\u005f_proto__":{"polluted":1}}}')).toBe("FORBIDDEN_KEY");
    expect(code('{"t":"emit","event":"x","data":{"\\u0063onstructor":1}}')).toBe("FORBIDDEN_KEY");
    expect(code('{"t":"emit","event":"x","data":{"caf\\u00e9":1}}')).toBe("ok");
  });
});

describe("unknown fields", () => {
  it("are ignored on both sides, so later versions can add them", () => {
    expect(parseClientFrame('{"t":"req","id":1,"event":"x","data":2,"trace":"abc"}')).toEqual({ t: "req", id: 1, event: "x", data: 2 });
    expect(parseServerFrame('{"t":"ack","id":1,"data":2,"server":"b"}')).toMatchObject({ t: "ack", id: 1, data: 2 });
  });
});
