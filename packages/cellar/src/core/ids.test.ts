import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { constantTimeEqual, randomToken, sha256 } from "./ids.js";

describe("secrets", () => {
  it("random tokens carry 128 bits by default and do not repeat", () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => randomToken()));
    expect(tokens.size).toBe(1000);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("sha256 is base64url SHA-256", async () => {
    expect(await sha256("secret")).toBe(createHash("sha256").update("secret").digest("base64url"));
  });

  it("constantTimeEqual tells equal strings from any other", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "ab")).toBe(false);
    expect(constantTimeEqual("ab", "abc")).toBe(false);
    expect(constantTimeEqual("", "a")).toBe(false);
    expect(constantTimeEqual("a", "")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
  });
});
