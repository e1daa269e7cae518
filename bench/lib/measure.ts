import { performance } from "node:perf_hooks";
import type { ServerChild } from "./server-child.js";
import { sleep } from "./stats.js";

/** What happened during one measurement window. */
export interface Window {
  seconds: number;
  /** Units of work counted by the generator (deliveries, round trips). */
  count: number;
  /** CPU time the server process used, in µs (for workerd: its process tree and Miniflare's Node process). */
  serverCpuMicros: number;
  /** The same, by part: `process` for a Node server; `workerd` and `node` (Miniflare) for the workerd host. */
  serverCpuParts: Record<string, number>;
  /** CPU time this process (the load generator) used, in µs. */
  generatorCpuMicros: number;
}

export const perSecond = (w: Window) => w.count / w.seconds;
export const cpuPerUnit = (w: Window) => w.serverCpuMicros / w.count;
export const serverLoad = (w: Window) => w.serverCpuMicros / (w.seconds * 1e6);
export const generatorLoad = (w: Window) => w.generatorCpuMicros / (w.seconds * 1e6);

/**
 * Waits `warmupMs` (load already running), then measures for `measureMs`: the counter read
 * by `count()` and the server's CPU time (its `cpuParts` command: a Node server's own
 * `process.cpuUsage()`; the workerd host's process tree, see servers/workerd-server.ts).
 */
export async function measureWindow(server: ServerChild, count: () => number, warmupMs: number, measureMs: number): Promise<Window> {
  await sleep(warmupMs);
  const cpu0 = await server.cpuParts();
  const gen0 = process.cpuUsage();
  const n0 = count();
  const t0 = performance.now();
  await sleep(measureMs);
  const n1 = count();
  const t1 = performance.now();
  const gen1 = process.cpuUsage(gen0);
  const cpu1 = await server.cpuParts();
  const parts = Object.fromEntries(Object.keys(cpu1).map((key) => [key, cpu1[key]! - (cpu0[key] ?? 0)]));
  return {
    seconds: (t1 - t0) / 1000,
    count: n1 - n0,
    serverCpuMicros: Object.values(parts).reduce((a, b) => a + b, 0),
    serverCpuParts: parts,
    generatorCpuMicros: gen1.user + gen1.system,
  };
}

/** Waits until `count()` has not moved for `quietMs` (in-flight frames drained), at most `maxMs`. */
export async function drain(count: () => number, quietMs = 150, maxMs = 10_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  let last = count();
  let since = performance.now();
  while (performance.now() < deadline) {
    await sleep(25);
    const now = count();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) {
      return;
    }
  }
}

/** Polls `done` every `pollMs` until it holds or `timeoutMs` passed (then returns: the figures show what is missing). */
export async function until(done: () => boolean, timeoutMs: number, pollMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done() && performance.now() < deadline) await sleep(pollMs);
}
