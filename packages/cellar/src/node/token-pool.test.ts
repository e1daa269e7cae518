import { describe, expect, it } from "vitest";
import { TokenPool } from "./token-pool.js";

describe("TokenPool", () => {
  it("makes base64url tokens of the asked size, all different, across refills", () => {
    const pool = new TokenPool();
    const seen = new Set<string>();
    // 16-byte tokens: 256 per refill; 1,000 cross several, with a tail that does not fit.
    for (let i = 0; i < 1000; i++) {
      const token = pool.token(i % 3 === 0 ? 12 : 16);
      expect(token).toMatch(i % 3 === 0 ? /^[\w-]{16}$/ : /^[\w-]{22}$/);
      seen.add(token);
    }
    expect(seen.size).toBe(1000);
  });
});
