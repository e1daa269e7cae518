import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startWorkerdServer } from "cellar/testing";
import { serve } from "../lib/ipc-host.js";

/**
 * The Cloudflare host under test: the benchmark's rooms (`rooms.ts`) in one Worker made by
 * `cellar/cloudflare`'s `createWorker`, run in workerd through Miniflare
 * (`startWorkerdServer` of `cellar/testing`). This process only runs Miniflare; workerd is
 * its child. Rate limit out of the way and logging off, as for the Node server. Data in a
 * temporary directory under the OS temp directory (or `config.dataParent`), removed on exit.
 *
 * CPU (`cpu`, `cpuParts`): user + system time of every process below this one (workerd,
 * with all its threads, and any process it starts; esbuild's idle service processes), read
 * from /proc/<pid>/stat (clock ticks, 10 ms), plus this Node process's own
 * `process.cpuUsage()` (Miniflare, which carries none of the traffic). `cpu` is the sum.
 */
const src = (path: string) => fileURLToPath(new URL(`../../packages/cellar/src/${path}`, import.meta.url));
const roomsModule = fileURLToPath(new URL("./rooms.ts", import.meta.url));

const config = JSON.parse(process.argv[2] ?? "{}") as { dataParent?: string };
const dir = mkdtempSync(join(config.dataParent ?? tmpdir(), "cellar-bench-workerd-"));
const entry = join(dir, "worker.ts");
writeFileSync(
  entry,
  [
    `import { createWorker } from ${JSON.stringify(src("cloudflare/index.ts"))};`,
    `import { rooms } from ${JSON.stringify(roomsModule)};`,
    `const cellar = createWorker({ rooms, logLevel: "silent", rateLimit: { eventsPerSecond: 1e6, burst: 1e6 } });`,
    `export const CellarRooms = cellar.RoomObject;`,
    `export default { fetch: cellar.fetch };`,
  ].join("\n"),
);
const server = await startWorkerdServer({ entry, persistDir: join(dir, "data"), conditions: ["source"] });

const TICK_MICROS = 1e6 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim() || 100);

/** Child processes of `pid`, whichever of its threads started them. */
function children(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/** utime + stime (all threads, living or ended) + cutime + cstime (children it waited for), in µs. */
function processCpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces), which ends at the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime, stime, cutime, cstime are fields 14–17 of stat, 12–15 counted from state (field 3).
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return ticks * TICK_MICROS;
  } catch {
    return 0;
  }
}

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
};

/**
 * The processes below this one, split into workerd (every `workerd` process and whatever
 * it starts) and the rest (esbuild's service processes, idle after the bundle was built).
 */
function tree(): { workerd: number[]; other: number[] } {
  const result = { workerd: [] as number[], other: [] as number[] };
  const queue = children(process.pid).map((pid) => ({ pid, underWorkerd: false }));
  while (queue.length > 0) {
    const { pid, underWorkerd } = queue.shift()!;
    const isWorkerd = underWorkerd || comm(pid) === "workerd";
    (isWorkerd ? result.workerd : result.other).push(pid);
    queue.push(...children(pid).map((child) => ({ pid: child, underWorkerd: isWorkerd })));
  }
  return result;
}

const sumCpu = (pids: number[]) => pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0);

const ownCpu = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

const url = new URL(server.url);
serve(`ws://${url.host}`, {
  commands: {
    cpu: () => {
      const { workerd, other } = tree();
      return sumCpu(workerd) + sumCpu(other) + ownCpu();
    },
    /** CPU µs so far: workerd's processes; this Node process (Miniflare) and its other children. */
    cpuParts: () => {
      const { workerd, other } = tree();
      return { workerd: sumCpu(workerd), node: ownCpu() + sumCpu(other) };
    },
    /** The processes counted, for a check: ids, command names, which one `server.pid()` names. */
    tree: () => {
      const { workerd, other } = tree();
      const describe = (pid: number) => ({ pid, comm: comm(pid), threads: readdirSync(`/proc/${pid}/task`).length, isServerPid: server.pid() === pid });
      return { workerd: workerd.map(describe), other: other.map(describe) };
    },
  },
  async close() {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  },
});
