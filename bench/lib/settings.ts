/** What one `npm run bench` does, from its command line. */
export interface Settings {
  quick: boolean;
  only: ReadonlySet<string>;
  /** Repetitions of each figure; the table quotes medians. */
  reps: number;
  warmupMs: number;
  measureMs: number;
  p1: { offeredDeliveries: number; window: number };
  /** P1b connection churn: `cycles` open → welcome → close, `concurrency` at a time, after `warmup` unmeasured ones. */
  p1b: { cycles: number; warmup: number; concurrency: number; reps: number };
  p2: { clients: number };
  p3: {
    samples: number;
    rooms: number;
    /**
     * The workerd host, where nothing forces an eviction: `rooms` rooms are left idle for
     * `idleMs` (workerd evicts an object ~10 s after its last event), then each gets one
     * woken and one warm sample; one such round per repetition.
     */
    workerd: { rooms: number; idleMs: number };
  };
  p4: { n: number; reps: number };
  /**
   * P5 reconnect storm: `rooms` × `perRoom` CellarClients (one writer per room among them);
   * each writer sends `messagesPerSecond` lines, one request at a time; the server is killed
   * `killAfterMs` (+ up to 500 ms at random) after the writers start; after every client
   * resumed, each writer sends `linesAfterResume` more.
   */
  p5: { rooms: number; perRoom: number; messagesPerSecond: number; killAfterMs: number; linesAfterResume: number };
  /**
   * P6 quiz burst: `sessions` Sommelier Arena sessions × `participants`; per repetition, new
   * sessions play `questions` questions of one wine, every participant answering once at a
   * random moment of an `answerWindowMs` window.
   */
  p6: { sessions: number; participants: number; questions: number; answerWindowMs: number };
  /** P1–P3 also run the Cloudflare host in workerd (off with `--no-workerd`). */
  workerd: boolean;
  /** Where workerd's data directories go (`--workerd-data`; default the OS temp directory, as the Node server's). */
  workerdData?: string;
  /**
   * P1 and P2 also run a second Cellar server (`--metrics`): with Prometheus metrics on, to
   * price them against the same server without; or, `--metrics=control`, with them off too,
   * to show how far two identical servers differ in the same comparison.
   */
  metrics: false | "on" | "control";
  /** How server processes start: `--profile` adds a CPU profile dir, `--tsx` runs them under tsx. */
  child: { cpuProfDir?: string; cpuProfIntervalUs?: number; tsx?: boolean };
  log(line: string): void;
}

export const SCENARIOS = ["P1", "P1B", "P2", "P3", "P4", "P5", "P6"] as const;

/**
 * Unmeasured churn cycles before P1b's windows (and bench:ab's churn): a fresh server's first
 * few thousand cycles cost up to 3× its steady state (its code being compiled, its heap
 * growing), Cellar's for longer than raw ws's; with 1,000 the first windows measured that.
 */
export const P1B_WARMUP_CYCLES = 5000;

const USAGE = `Usage: npm run bench -- [--quick] [--only=P1,P3] [--no-workerd] [--profile] [--offered=40000] [--tsx] [--metrics[=control]]
  --quick       short run (1 repetition, short windows, smaller N)
  --only=…      run only these scenarios (${SCENARIOS.join(", ")})
  --no-workerd  skip the Cloudflare host (workerd via Miniflare) in P1-P3
  --workerd-data=DIR  put workerd's SQLite files under DIR (e.g. /dev/shm, to take fsync out; default the OS temp dir)
  --profile[=µs]  write CPU profiles (sampled every 1000 µs, or as given) of the server processes (P1-P3, P6, and P5's restarted server) and print the hottest functions
  --offered=N   P1 offered load in deliveries/s (default 40000)
  --tsx         run the servers under tsx, as the tests do (adds keepNames overhead; see lib/ts-hooks.mjs)
  --metrics     P1 and P2 also measure a Cellar server with Prometheus metrics on, against the same server without
                (=control: that second server has them off too, for the comparison's noise floor)`;

export function parseSettings(argv: readonly string[], profileDir: string): Settings {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`Unknown argument ${arg}\n${USAGE}`);
    flags.set(match[1]!, match[2] ?? "true");
  }
  for (const name of flags.keys()) {
    if (!["quick", "only", "no-workerd", "workerd-data", "profile", "offered", "tsx", "metrics", "help"].includes(name)) throw new Error(`Unknown option --${name}\n${USAGE}`);
  }
  if (flags.has("help")) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = flags.has("quick");
  const only = new Set((flags.get("only") ?? SCENARIOS.join(",")).split(",").map((s) => s.trim().toUpperCase()));
  for (const id of only) if (!(SCENARIOS as readonly string[]).includes(id)) throw new Error(`--only: unknown scenario ${id}\n${USAGE}`);
  const offered = Number(flags.get("offered") ?? 40_000);
  if (!(offered > 0)) throw new Error(`--offered must be a positive number of deliveries/s`);
  return {
    quick,
    only,
    reps: quick ? 1 : 3,
    warmupMs: quick ? 500 : 1000,
    measureMs: quick ? 1000 : 2500,
    p1: { offeredDeliveries: offered, window: 1 },
    // More repetitions than the others: a window is a fraction of a second, and the machine's
    // drift moves both servers' CPU per cycle by up to 2× within a run.
    p1b: { cycles: quick ? 200 : 500, warmup: quick ? 1000 : P1B_WARMUP_CYCLES, concurrency: 10, reps: quick ? 1 : 15 },
    p2: { clients: 50 },
    p3: { samples: quick ? 60 : 200, rooms: 4, workerd: { rooms: quick ? 40 : 100, idleMs: 12_000 } },
    p4: { n: quick ? 2000 : 5000, reps: quick ? 1 : 2 },
    // Same size in a quick run: the target is defined at 1,000 clients.
    p5: { rooms: 50, perRoom: 20, messagesPerSecond: 20, killAfterMs: quick ? 1000 : 2000, linesAfterResume: 10 },
    // Same size in a quick run (the target is defined at 800 participants), fewer questions.
    p6: { sessions: 20, participants: 40, questions: quick ? 2 : 5, answerWindowMs: 1000 },
    workerd: !flags.has("no-workerd"),
    metrics: metricsFlag(flags.get("metrics")),
    ...(flags.has("workerd-data") ? { workerdData: flags.get("workerd-data")! } : {}),
    child: {
      ...(flags.has("profile") ? { cpuProfDir: profileDir } : {}),
      ...(flags.has("profile") && flags.get("profile") !== "true" ? { cpuProfIntervalUs: Number(flags.get("profile")) } : {}),
      ...(flags.has("tsx") ? { tsx: true } : {}),
    },
    log: (line) => process.stderr.write(`  ${line}\n`),
  };
}

function metricsFlag(value: string | undefined): Settings["metrics"] {
  if (value === undefined) return false;
  if (value === "true") return "on";
  if (value === "control") return "control";
  throw new Error(`--metrics takes no value, or =control\n${USAGE}`);
}

/** How a `--metrics` row names its two servers. */
export function metricsVersus(settings: Settings): string {
  return settings.metrics === "control" ? "control: the same server twice, metrics off in both" : "the Cellar server with metrics on vs off";
}
