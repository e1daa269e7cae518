import { describe, expect, it } from "vitest";
import { tempDataDir } from "../../testing/test-server.js";
import { SharedDb } from "./shared-db.js";

describe("KV expiry in the shared database", () => {
  it("hides expired entries from get and list, and purges them", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      db.kvWriteNow("NS", "gone", { value: "a", expiresAt: 1_000, metadata: null });
      db.kvWriteNow("NS", "kept", { value: "b", expiresAt: 5_000, metadata: null });
      db.kvWriteNow("NS", "forever", { value: "c", expiresAt: null, metadata: null });
      expect(db.kvGet("NS", "gone", 999)?.value).toBe("a");
      expect(db.kvGet("NS", "gone", 1_000)).toBeUndefined();
      expect(db.kvList("NS", "", undefined, 10, 2_000).map(([key]) => key)).toEqual(["forever", "kept"]);
      expect(db.purgeExpiredKv(2_000)).toBe(1);
      expect(db.purgeExpiredKv(2_000)).toBe(0);
    } finally {
      db.close();
    }
  });
});
