import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * The core must load in workerd and in a browser bundle: no Node built-ins, no Node-only
 * packages, no Node globals, and nothing from the hosts. (Its tsconfig also compiles it
 * without Node's types, so a Node global fails the build too.)
 */
const coreDir = fileURLToPath(new URL("../src/core/", import.meta.url));
const sources = readdirSync(coreDir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

const FORBIDDEN_IMPORTS = [/^node:/, /^ws$/, /^better-sqlite3/, /^cloudflare:/, /^pino/, /^@hono\//, /\.\.\/(node|cloudflare|testing)\//];
const FORBIDDEN_GLOBALS = [/\bprocess\./, /\bBuffer\b/, /\brequire\(/, /\b__dirname\b/, /\bsetImmediate\b/, /\bglobal\./];

describe("src/core stays runtime-agnostic", () => {
  it("has sources to check", () => {
    expect(sources.length).toBeGreaterThan(10);
  });

  for (const file of sources) {
    it(`${file} imports nothing Node-only and uses no Node globals`, () => {
      const text = readFileSync(join(coreDir, file), "utf8");
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
      const imports = [...code.matchAll(/(?:import|export)[^"']*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? m[2]!);
      for (const specifier of imports) {
        for (const rule of FORBIDDEN_IMPORTS) expect(specifier, `${file} imports ${specifier}`).not.toMatch(rule);
      }
      for (const rule of FORBIDDEN_GLOBALS) expect(code, `${file} uses ${rule}`).not.toMatch(rule);
    });
  }
});
