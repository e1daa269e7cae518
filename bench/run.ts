import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hotFunctions } from "./lib/profile.js";
import { printTable, type Row } from "./lib/report.js";
import { parseSettings, SCENARIOS, type Settings } from "./lib/settings.js";
import { runP1 } from "./scenarios/p1-fanout.js";
import { runP1b } from "./scenarios/p1b-churn.js";
import { runP2 } from "./scenarios/p2-durable-acks.js";
import { runP3 } from "./scenarios/p3-wake.js";
import { runP4 } from "./scenarios/p4-memory.js";
import { runP5 } from "./scenarios/p5-reconnect-storm.js";
import { runP6 } from "./scenarios/p6-quiz-burst.js";

/**
 * `npm run bench`: runs the P1–P6 scenarios of quality.md, prints one table of figures, each
 * against a baseline measured in the same run, and writes the results as JSON under
 * bench/results/. See bench/README.md.
 */

type Scenario = (settings: Settings) => Promise<{ rows: Row[] } & Record<string, unknown>>;
const RUNNERS: Record<(typeof SCENARIOS)[number], Scenario> = { P1: runP1, P1B: runP1b, P2: runP2, P3: runP3, P4: runP4, P5: runP5, P6: runP6 };

const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const profileRoot = join(resultsDir, "profiles", stamp);
const settings = parseSettings(process.argv.slice(2), profileRoot);

const machine = {
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  loadavgAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  /** The Miniflare (and so workerd) release that runs the Cloudflare host, when it runs. */
  miniflare: settings.workerd ? miniflareVersion() : undefined,
};
const mode = settings.quick ? "quick" : "full";
console.log(
  `Cellar benchmarks (${mode}) — node ${machine.node}, ${machine.cores}× ${machine.cpu}, load ${machine.loadavgAtStart.join(" ")}; ` +
    `servers compiled by ${settings.child.tsx ? "tsx (keepNames)" : "bench/lib/ts-hooks.mjs (esbuild, no keepNames)"}; ` +
    (settings.workerd
      ? `Cloudflare host in workerd (Miniflare ${machine.miniflare}) in P1–P3${settings.workerdData ? `, its data under ${settings.workerdData}` : ""}`
      : "no workerd host (--no-workerd)"),
);

function miniflareVersion(): string {
  try {
    return (createRequire(import.meta.url)("miniflare/package.json") as { version: string }).version;
  } catch {
    return "not installed";
  }
}

const rows: Row[] = [];
const details: Record<string, unknown> = {};
const failures: Record<string, string> = {};
const started = Date.now();
for (const id of SCENARIOS) {
  if (!settings.only.has(id)) continue;
  const scenarioSettings: Settings = settings.child.cpuProfDir
    ? { ...settings, child: { ...settings.child, cpuProfDir: id === "P4" ? undefined : join(profileRoot, id) } }
    : settings;
  const t0 = Date.now();
  settings.log(`${id}…`);
  try {
    const { rows: scenarioRows, ...rest } = await RUNNERS[id](scenarioSettings);
    rows.push(...scenarioRows);
    details[id] = rest;
  } catch (error) {
    // A scenario that breaks is reported and the others still run.
    failures[id] = error instanceof Error ? (error.stack ?? error.message) : String(error);
    settings.log(`${id} FAILED: ${failures[id]}`);
  }
  settings.log(`${id} took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

console.log("");
printTable(rows);
for (const id of Object.keys(failures)) console.log(`${id}: FAILED (see stderr and the JSON file)`);
console.log(`\n${rows.filter((r) => r.verdict === "PASS").length} PASS, ${rows.filter((r) => r.verdict === "MISS").length} MISS; ${((Date.now() - started) / 1000).toFixed(0)} s`);

if (settings.child.cpuProfDir) {
  for (const id of SCENARIOS) {
    if (!settings.only.has(id) || id === "P4" || failures[id]) continue;
    for (const server of ["cellar", "raw-ws", "arena"]) {
      const hot = hotFunctions(join(profileRoot, id, server), 15);
      if (hot.length === 0) continue;
      console.log(`\n${id} ${server}: hottest functions by self time (% of busy samples)`);
      for (const f of hot) console.log(`  ${f.selfPercent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
    }
  }
  console.log(`\nCPU profiles: ${profileRoot} (open in Chrome DevTools or speedscope)`);
}

mkdirSync(resultsDir, { recursive: true });
const json = JSON.stringify({ timestamp: new Date().toISOString(), mode, argv: process.argv.slice(2), machine, settings, rows, details, failures }, null, 2);
const file = join(resultsDir, `${stamp}.json`);
writeFileSync(file, json);
writeFileSync(join(resultsDir, "latest.json"), json);
console.log(`Results: ${file} (and results/latest.json)`);
