import { describe, expect, it } from "vitest";
import { defineRoom } from "./define-room.js";
import { Router, SINGLE_INSTANCE_ID } from "./router.js";

describe("Router", () => {
  const game = defineRoom({ name: "game", state: {}, websocketPath: "/game/:id" });
  const chat = defineRoom({ name: "chat", state: {}, websocketPath: "/ws/chat" });
  const router = new Router([game, chat]);

  it("serves every kind at /rooms/<kind>/<id>", () => {
    expect(router.match("/rooms/chat/a%20b")).toEqual({ def: chat, id: "a b" });
    expect(router.match("/rooms/nope/a")).toBeUndefined();
  });

  it("takes the instance id from a websocketPath with :id", () => {
    expect(router.match("/game/42")).toEqual({ def: game, id: "42" });
    expect(router.match("/game/")).toBeUndefined();
  });

  it("serves one instance, named default, at a websocketPath without :id", () => {
    expect(router.match("/ws/chat")).toEqual({ def: chat, id: SINGLE_INSTANCE_ID });
    expect(SINGLE_INSTANCE_ID).toBe("default");
    // The path is literal: nothing before or after it matches.
    expect(router.match("/ws/chat/x")).toBeUndefined();
    expect(router.match("/ws/chatty")).toBeUndefined();
  });

  it("still refuses a websocketPath that is not an absolute path", () => {
    expect(() => defineRoom({ name: "bad", state: {}, websocketPath: "ws" })).toThrow(/starting with "\/"/);
  });
});
