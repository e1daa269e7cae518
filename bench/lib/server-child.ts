import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";

/**
 * Parent side: a server running in a child process of its own, so that its CPU time and
 * heap are measured apart from the load generator (this process).
 */
export interface ServerChild {
  readonly name: string;
  /** `ws://127.0.0.1:<port>`; rooms are at `<url>/rooms/<kind>/<id>`. */
  readonly url: string;
  roomUrl(kind: string, id: string): string;
  call<T = unknown>(cmd: string, args?: unknown): Promise<T>;
  /** User + system CPU time of the server process so far, in µs (the workerd host: its whole tree). */
  cpuMicros(): Promise<number>;
  /** The same by part (`{ process }` for a Node server; `{ workerd, node }` for the workerd host). */
  cpuParts(): Promise<Record<string, number>>;
  /** JS heap in use after full collections (needs `exposeGc`). */
  heapUsed(): Promise<number>;
  /** Closes the server and waits for the process to exit. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL: a crash, nothing flushed) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ChildOptions {
  /** Passed to the script as JSON in argv[2]. */
  config?: Record<string, unknown>;
  exposeGc?: boolean;
  /** Write a V8 CPU profile of the server here when it exits. */
  cpuProfDir?: string;
  /** The profile's sampling interval (V8's default, 1000 µs, when not given). */
  cpuProfIntervalUs?: number;
  /** Run the server's TypeScript through tsx instead of ts-hooks.mjs (see there for why not by default). */
  tsx?: boolean;
  /**
   * Run the script bundled by esbuild into one JavaScript file (with Cellar's sources;
   * packages stay external), with no loader: the process starts like a deployed server
   * compiled to JS (~0.3 s instead of ~0.7 s through ts-hooks.mjs). For scenarios that time
   * a restart. Ignored with `tsx`.
   */
  bundle?: boolean;
}

const SERVERS = new URL("../servers/", import.meta.url);

/** Starts `bench/servers/<script>` and waits until it listens. */
export async function startServerChild(name: string, script: string, options: ChildOptions = {}): Promise<ServerChild> {
  const bundle = options.bundle && !options.tsx;
  const path = bundle ? await bundled(script) : fileURLToPath(new URL(script, SERVERS));
  const loader = options.tsx ? "tsx" : new URL("./ts-register.mjs", import.meta.url).href;
  const execArgv = bundle ? [] : ["--conditions=source", "--import", loader];
  // Bytecode flushing frees code of functions idle for a few GCs: heap readings would drift.
  if (options.exposeGc) execArgv.push("--expose-gc", "--no-flush-bytecode");
  // One directory per server: each thread (the module-hooks worker too) writes its own file.
  if (options.cpuProfDir) execArgv.push("--cpu-prof", `--cpu-prof-dir=${join(options.cpuProfDir, name)}`);
  if (options.cpuProfDir && options.cpuProfIntervalUs) execArgv.push(`--cpu-prof-interval=${options.cpuProfIntervalUs}`);
  const child = fork(path, [JSON.stringify(options.config ?? {})], {
    execArgv,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not start within 30 s:\n${output}`));
    }, 30_000);
    child.once("exit", (code, signal) => reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${output}`)));
    child.once("message", (message: { ready?: boolean; url?: string }) => {
      clearTimeout(timer);
      if (!message.ready || !message.url) return reject(new Error(`${name}: unexpected first message ${JSON.stringify(message)}`));
      resolve(wrap(name, message.url, child, exited, () => output));
    });
  });
}

const bundles = new Map<string, Promise<string>>();

/** Bundles a server script once per run, into node_modules/.cache (where its packages resolve). */
function bundled(script: string): Promise<string> {
  let file = bundles.get(script);
  if (!file) {
    const outfile = fileURLToPath(new URL(`../../node_modules/.cache/cellar-bench/${script.replace(/\.ts$/, "")}.mjs`, import.meta.url));
    file = import("esbuild").then(({ build }) => build({
      entryPoints: [fileURLToPath(new URL(script, SERVERS))],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: ["source"],
      plugins: [packagesExternalButCellar],
      logLevel: "warning",
    })).then(() => outfile);
    bundles.set(script, file);
  }
  return file;
}

/** Cellar is bundled from its TypeScript sources; every other package is imported at run time. */
const packagesExternalButCellar: Plugin = {
  name: "packages-external-but-cellar",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path === "cellar" || args.path.startsWith("cellar/") ? undefined : { path: args.path, external: true }));
  },
};

function wrap(name: string, url: string, child: ChildProcess, exited: Promise<void>, output: () => string): ServerChild {
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  child.on("message", (message: { id: number; ok: boolean; value?: unknown; error?: string }) => {
    const p = pending.get(message.id);
    if (!p) return;
    pending.delete(message.id);
    if (message.ok) p.resolve(message.value);
    else p.reject(new Error(`${name}: ${message.error}`));
  });
  void exited.then(() => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited:\n${output()}`));
    pending.clear();
  });
  const call = <T>(cmd: string, args?: unknown) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, args });
    });
  return {
    name,
    url,
    roomUrl: (kind, id) => `${url}/rooms/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`,
    call,
    cpuMicros: () => call<number>("cpu"),
    cpuParts: () => call<Record<string, number>>("cpuParts"),
    heapUsed: () => call<number>("heap"),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await call("exit").catch(() => {});
      await exited;
      clearTimeout(timer);
    },
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/**
 * The Cloudflare host (`servers/workerd-server.ts`): a child process that runs Miniflare,
 * which runs workerd as its own child. Never CPU-profiled: `--cpu-prof` would profile the
 * idle Miniflare process, not workerd.
 */
export function startWorkerdChild(options: ChildOptions = {}, dataParent?: string): Promise<ServerChild> {
  const { cpuProfDir: _notProfiled, ...rest } = options;
  return startServerChild("workerd", "workerd-server.ts", { ...rest, config: { ...rest.config, ...(dataParent ? { dataParent } : {}) } });
}
