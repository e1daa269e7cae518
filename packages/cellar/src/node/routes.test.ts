import { describe, expect, it } from "vitest";
import { upgradePath } from "./routes.js";

describe("upgradePath", () => {
  it("gives the path the URL parser gives, for plain targets and tricky ones", () => {
    const targets = [
      "/rooms/chat/a",
      "/rooms/chat/a?token=x&y=%20",
      "/rooms/chat/a?",
      "/ws",
      "/",
      "/?",
      "/rooms/chat/a'b(c)~!",
      "/rooms/chat/a%2Fb",
      "/rooms/chat/%2e%2e/x",
      "/rooms/chat/%2E./x",
      "/rooms/chat/a%zz",
      "/rooms/../x",
      "/rooms/./chat/a",
      "/rooms/chat/a.b",
      "/rooms\\chat\\a",
      "//evil.example/rooms/chat/a",
      "/rooms/chat/ä",
      "/rooms/chat/a b",
      "/rooms/chat/a#frag",
      "/rooms/chat/{x}`y`",
      "http://host.example/rooms/chat/a",
    ];
    for (const target of targets) expect(upgradePath(target), target).toBe(new URL(target, "http://localhost").pathname);
    expect(upgradePath(undefined)).toBe("/");
  });
});
