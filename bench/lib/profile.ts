import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Reads V8 `.cpuprofile` files (from `--cpu-prof`) and lists where CPU time went. */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** µs on the monotonic clock (as `process.hrtime`), and the µs from one sample to the next. */
  startTime: number;
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  /** Share of the process's busy samples (idle and program excluded). */
  selfPercent: number;
}

/**
 * Self time per function, summed over every profile in `dir` (all threads, all processes).
 * With `windows` (µs on the monotonic clock, `process.hrtime.bigint() / 1000n` in any
 * process of this machine), only the samples taken inside them count.
 */
export function hotFunctions(dir: string, top = 15, windows?: ReadonlyArray<readonly [number, number]>): HotFunction[] {
  const self = new Map<string, { name: string; where: string; hits: number }>();
  let busy = 0;
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")) : [];
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    const hits = new Map<number, number>();
    let at = profile.startTime;
    for (const [i, id] of profile.samples.entries()) {
      at += profile.timeDeltas[i] ?? 0;
      if (windows && !windows.some(([from, to]) => at >= from && at <= to)) continue;
      hits.set(id, (hits.get(id) ?? 0) + 1);
    }
    for (const node of profile.nodes) {
      const { functionName, url, lineNumber } = node.callFrame;
      const count = hits.get(node.id) ?? 0;
      if (count === 0 || functionName === "(idle)" || functionName === "(program)") continue;
      // Lines of TypeScript files are positions in the compiled output, so only the file is named.
      const file = url.replace(/^file:\/\/.*?\/(node_modules|packages|apps|bench)\//, "$1/");
      const where = !url ? "" : url.endsWith(".ts") ? file : `${file}:${lineNumber + 1}`;
      const key = `${functionName}@${where}`;
      const entry = self.get(key) ?? { name: functionName || "(anonymous)", where, hits: 0 };
      entry.hits += count;
      self.set(key, entry);
      busy += count;
    }
  }
  return [...self.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, selfPercent: (100 * e.hits) / busy }));
}
