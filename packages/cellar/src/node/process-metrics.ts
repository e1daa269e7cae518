import { performance } from "node:perf_hooks";
import { Counter, Gauge, type Registry } from "prom-client";

/**
 * Internal: the process's memory, CPU and event loop, read when Prometheus scrapes, under
 * the names of prom-client's default metrics (dashboards made for those work). Not
 * prom-client's `collectDefaultMetrics` itself: it keeps a 10 ms event-loop-delay timer and a
 * GC observer running between scrapes, which cost a Cellar server measurable CPU on every
 * event (see docs/operations.md#metrics); `metrics: { nodeDefaults: true }` turns them on.
 */
export function defineProcessMetrics(registry: Registry): void {
  const registers = [registry];
  const startTime = Math.round(performance.timeOrigin / 1000);
  const cpu = (name: string, help: string, read: (usage: NodeJS.CpuUsage) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(process.cpuUsage()) / 1e6);
      },
    });
  cpu("process_cpu_user_seconds_total", "Total user CPU time spent in seconds.", (u) => u.user);
  cpu("process_cpu_system_seconds_total", "Total system CPU time spent in seconds.", (u) => u.system);
  cpu("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", (u) => u.user + u.system);
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since unix epoch in seconds.",
    registers,
    collect() {
      this.set(startTime);
    },
  });
  const memory = (name: string, help: string, read: (usage: NodeJS.MemoryUsage) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(process.memoryUsage()));
      },
    });
  memory("process_resident_memory_bytes", "Resident memory size in bytes.", (m) => m.rss);
  memory("nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.", (m) => m.heapTotal);
  memory("nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.", (m) => m.heapUsed);
  memory("nodejs_external_memory_bytes", "Node.js external memory size in bytes.", (m) => m.external);
}

/** How busy the event loop is, read at scrape time (with prom-client's defaults or without). */
export function defineEventLoopMetric(registry: Registry): void {
  new Counter({
    name: "cellar_event_loop_busy_seconds_total",
    help: "Time the event loop spent running callbacks rather than waiting (its rate is the event loop's utilization).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(performance.eventLoopUtilization().active / 1000);
    },
  });
}
