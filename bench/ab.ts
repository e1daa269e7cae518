import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { WebSocket } from "ws";
import { measureWindow } from "./lib/measure.js";
import { startServerChild, type ServerChild } from "./lib/server-child.js";
import { P1B_WARMUP_CYCLES } from "./lib/settings.js";
import { median } from "./lib/stats.js";
import { closeClients, openClient, openClients } from "./lib/ws-clients.js";
import { FanoutLoad } from "./scenarios/p1-fanout.js";
import { churn, measureChurn } from "./scenarios/p1b-churn.js";

/**
 * `npm run bench:ab -- --base=<git rev> [--scenario=churn|fanout|fanout-volatile] [--reps=N]`:
 * one scenario against three servers in one run: raw ws, Cellar as in this working tree,
 * and Cellar as of `<git rev>` (checked out in a temporary worktree that borrows this
 * tree's node_modules). Each repetition visits the servers in a random order. The figure
 * that matters is the median of the per-repetition ratios of this tree's server CPU per
 * unit to the base's: it resolves changes of a few percent, where a scenario's ratio to
 * raw ws moves more than that from run to run. Writes bench/results/ab-<scenario>-<time>.json.
 *
 * - `churn`: P1b's cycles (connect → welcome → close, 10 at a time), 800 per repetition;
 *   the unit is a cycle.
 * - `fanout`, `fanout-volatile`: P1's 10 rooms × 32 clients at 40k deliveries/s offered
 *   (logged or volatile broadcasts), 0.5 s of warm-up and 1.5 s measured per repetition;
 *   the unit is a delivery.
 */

const root = fileURLToPath(new URL("..", import.meta.url));
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const base = args.get("base");
const scenario = args.get("scenario") ?? "churn";
if (!base || !["churn", "fanout", "fanout-volatile"].includes(scenario)) {
  throw new Error("Usage: npm run bench:ab -- --base=<git rev> [--scenario=churn|fanout|fanout-volatile] [--reps=N]");
}
const reps = Number(args.get("reps") ?? (scenario === "churn" ? 30 : 12));

/** One repetition on one server: server CPU µs per unit. */
type Measure = (server: ServerChild) => Promise<number>;

async function churnMeasure(servers: ServerChild[]): Promise<{ measure: Measure; close: () => Promise<void> }> {
  const cycles = 800;
  const anchors: WebSocket[] = [];
  for (const server of servers) {
    // One client stays, so Cellar's room stays loaded (as in P1b).
    anchors.push(await openClient(server.roomUrl("chat", "churn")));
    await churn(server.roomUrl("chat", "churn"), P1B_WARMUP_CYCLES, 10);
  }
  return {
    measure: async (server) => {
      const run = await measureChurn(server, server.roomUrl("chat", "churn"), cycles, 10);
      return run.serverCpuMicros / run.cycles;
    },
    close: () => closeClients(anchors),
  };
}

async function fanoutMeasure(servers: ServerChild[], event: string): Promise<{ measure: Measure; close: () => Promise<void> }> {
  const rooms = 10;
  const perRoom = 32;
  const loads = new Map<ServerChild, FanoutLoad>();
  for (const server of servers) {
    const urls = Array.from({ length: rooms * perRoom }, (_, i) => server.roomUrl("chat", `ab-${i % rooms}`));
    const load = new FanoutLoad(await openClients(urls));
    load.event = event;
    loads.set(server, load);
  }
  return {
    measure: async (server) => {
      const load = loads.get(server)!;
      load.openLoop(40_000 / perRoom, perRoom);
      const window = await measureWindow(server, () => load.received, 500, 1500);
      await load.stop();
      return window.serverCpuMicros / window.count;
    },
    close: async () => {
      for (const load of loads.values()) await closeClients(load.clients);
    },
  };
}

const baseDir = mkdtempSync(join(tmpdir(), "cellar-ab-"));
execFileSync("git", ["worktree", "add", "--detach", baseDir, base], { cwd: root, stdio: "ignore" });
const servers: ServerChild[] = [];
try {
  // The base's bundles resolve `cellar` to its own sources and every other package to ours.
  mkdirSync(join(baseDir, "node_modules"));
  for (const entry of readdirSync(join(root, "node_modules"))) {
    if (entry !== "cellar") symlinkSync(join(root, "node_modules", entry), join(baseDir, "node_modules", entry));
  }
  symlinkSync(join(baseDir, "packages", "cellar"), join(baseDir, "node_modules", "cellar"));
  const baseChild = (await import(pathToFileURL(join(baseDir, "bench", "lib", "server-child.ts")).href)) as { startServerChild: typeof startServerChild };

  servers.push(await startServerChild("raw-ws", "raw-ws-server.ts"));
  servers.push(await startServerChild("cellar", "cellar-server.ts"));
  servers.push(await baseChild.startServerChild("cellar-base", "cellar-server.ts"));
  const { measure, close } = scenario === "churn" ? await churnMeasure(servers) : await fanoutMeasure(servers, scenario === "fanout" ? "chat:send" : "chat:volatile");
  const cpu = new Map(servers.map((s) => [s.name, [] as number[]]));
  const loadAtStart = loadavg();
  for (let rep = 0; rep < reps; rep++) {
    const order = [0, 1, 2].sort(() => Math.random() - 0.5);
    for (const i of order) cpu.get(servers[i]!.name)!.push(await measure(servers[i]!));
  }
  await close();
  const of = (name: string) => cpu.get(name)!;
  const ratios = (a: string, b: string) => of(a).map((v, i) => v / of(b)[i]!);
  const unit = scenario === "churn" ? "connect→welcome→close" : "delivery";
  const result = {
    about: `npm run bench:ab -- --base=${base} --scenario=${scenario}: µs of server CPU per ${unit}, ${reps} repetitions`,
    scenario,
    base: execFileSync("git", ["rev-parse", base], { cwd: root, encoding: "utf8" }).trim(),
    loadavgAtStart: loadAtStart,
    medians: { rawWs: median(of("raw-ws")), cellar: median(of("cellar")), cellarBase: median(of("cellar-base")) },
    ratioToRawWs: { cellar: median(ratios("cellar", "raw-ws")), cellarBase: median(ratios("cellar-base", "raw-ws")) },
    cellarToBase: median(ratios("cellar", "cellar-base")),
    samples: Object.fromEntries(cpu),
  };
  const us = (v: number) => `${v.toFixed(scenario === "churn" ? 0 : 2)} µs`;
  console.log(
    `server CPU per ${unit} (medians): raw ws ${us(result.medians.rawWs)}, cellar ${us(result.medians.cellar)} ` +
      `(${result.ratioToRawWs.cellar.toFixed(2)}× raw ws), base ${us(result.medians.cellarBase)} (${result.ratioToRawWs.cellarBase.toFixed(2)}×); ` +
      `cellar / base ${result.cellarToBase.toFixed(3)} (load ${loadAtStart.map((l) => l.toFixed(2)).join(" ")})`,
  );
  const file = join(root, "bench", "results", `ab-${scenario}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 1)}\n`);
  console.log(`Results: ${file}`);
} finally {
  for (const server of servers) await server.stop();
  execFileSync("git", ["worktree", "remove", "--force", baseDir], { cwd: root, stdio: "ignore" });
  rmSync(baseDir, { recursive: true, force: true });
}
