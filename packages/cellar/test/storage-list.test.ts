// List order and options are in conformance/storage-list.test.ts; JSON cannot carry NaN,
// so this refusal is checked in-process.
import { describe, expect, it } from "vitest";
import { run, useServers } from "./fixtures/storage-room.js";

const servers = useServers();

describe("ctx.storage.list options", () => {
  it("refuses a NaN limit", async () => {
    const t = await servers.start();
    await expect(run(t, "a", (ctx) => ctx.storage.list({ limit: Number.NaN }))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
