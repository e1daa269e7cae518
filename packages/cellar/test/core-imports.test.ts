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
/** cellar/verani and cellar/verani/client run wherever the core and the client do. */
const veraniDir = fileURLToPath(new URL("../src/verani/", import.meta.url));
const veraniSources = readdirSync(veraniDir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

const FORBIDDEN_IMPORTS = [/^node:/, /^ws$/, /^better-sqlite3/, /^cloudflare:/, /^pino/, /^@hono\//, /\.\.\/(node|cloudflare|testing)\//];
const FORBIDDEN_GLOBALS = [/\bprocess\./, /\bBuffer\b/, /\brequire\(/, /\b__dirname\b/, /\bsetImmediate\b/, /\bglobal\./];

describe("src/core stays runtime-agnostic", () => {
  it("has sources to check", () => {
    expect(sources.length).toBeGreaterThan(10);
  });

  const files = [...sources.map((f) => ({ file: f, path: join(coreDir, f) })), ...veraniSources.map((f) => ({ file: `verani/${f}`, path: join(veraniDir, f) }))];
  for (const { file, path } of files) {
    it(`${file} imports nothing Node-only and uses no Node globals`, () => {
      const text = readFileSync(path, "utf8");
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
      const imports = [...code.matchAll(/(?:import|export)[^"']*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? m[2]!);
      for (const specifier of imports) {
        for (const rule of FORBIDDEN_IMPORTS) expect(specifier, `${file} imports ${specifier}`).not.toMatch(rule);
      }
      for (const rule of FORBIDDEN_GLOBALS) expect(code, `${file} uses ${rule}`).not.toMatch(rule);
    });
  }
});
