import { describe, expect, it } from "vitest";
import { tempDataDir } from "../../testing/test-server.js";
import { SharedDb } from "./shared-db.js";

// Reads that hide expired KV entries are tested through rooms in test/kv.test.ts; the purge,
// which runs on a timer, is tested here with explicit times.
describe("purging expired KV entries", () => {
  it("deletes the expired ones, and only once", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      db.kvWriteNow("NS", "gone", { value: "a", expiresAt: 1_000, metadata: null });
      db.kvWriteNow("NS", "kept", { value: "b", expiresAt: 5_000, metadata: null });
      db.kvWriteNow("NS", "forever", { value: "c", expiresAt: null, metadata: null });
      expect(db.purgeExpiredKv(2_000)).toBe(1);
      expect(db.purgeExpiredKv(2_000)).toBe(0);
      expect(db.kvGet("NS", "kept", 0)?.value).toBe("b");
      expect(db.kvGet("NS", "gone", 0)).toBeUndefined();
    } finally {
      db.close();
    }
  });
});
