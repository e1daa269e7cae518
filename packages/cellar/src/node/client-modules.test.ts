import { describe, expect, it } from "vitest";
import { clientModule } from "./client-modules.js";

// The built files come from `tsc -b`, which `npm test` runs first.
describe("clientModule", () => {
  it("serves the built browser client's modules, and nothing else", async () => {
    const entry = await clientModule("client/index.js");
    expect(entry).toContain("CellarClient");
    // The entry's imports resolve to modules it serves too.
    for (const [, path] of entry!.matchAll(/from "\.\/([^"]+)"/g)) expect(await clientModule(`client/${path}`)).toBeTypeOf("string");
    expect(await clientModule("client/index.d.ts")).toBeUndefined();
    expect(await clientModule("../package.json")).toBeUndefined();
    expect(await clientModule("../src/client/index.ts")).toBeUndefined();
    expect(await clientModule("/etc/passwd")).toBeUndefined();
    expect(await clientModule("client/missing.js")).toBeUndefined();
  });
});
