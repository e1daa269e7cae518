import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CLOSE_CODES, ERROR_CODES } from "cellar";

const doc = (name: string) => readFileSync(fileURLToPath(new URL(`../../../docs/${name}`, import.meta.url)), "utf8");

describe("reference docs stay in step with the code", () => {
  it("docs/errors.md lists every error code", () => {
    const errors = doc("errors.md");
    for (const code of Object.keys(ERROR_CODES)) expect(errors, code).toContain(`\`${code}\``);
  });

  it("docs/protocol.md lists every close code", () => {
    const protocol = doc("protocol.md");
    for (const code of Object.values(CLOSE_CODES)) expect(protocol, String(code)).toMatch(new RegExp(`\\| ${code} \\|`));
  });
});
