import { execSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { CellarClient, ClientOptions } from "../client/client.js";
import { roomUrl } from "../core/router.js";
import { nodeClient } from "./node-client.js";

export interface WorkerdServerOptions {
  /**
   * A `wrangler.jsonc` (or `.json`) to take the Worker from: its `main`, Durable Object
   * bindings, KV namespaces, static assets, vars and compatibility settings; its
   * `build.command` runs first (in the config's folder), as `wrangler dev` runs it. Options
   * below override it.
   */
  wrangler?: string;
  /** The Worker's entry module (TypeScript or JavaScript), bundled with esbuild. */
  entry?: string;
  /** Durable Object bindings: binding name → exported class name (default `{ CELLAR_ROOMS: "CellarRooms" }`). */
  durableObjects?: Record<string, string>;
  /** KV namespace bindings. */
  kvNamespaces?: string[];
  /** A directory served as Workers static assets. */
  assets?: string;
  /** Where workerd keeps the objects' and KV's data (default: a new temporary directory, removed by `close()`). */
  persistDir?: string;
  /** Port to listen on (default: a free one; it stays the same across `restart()`). */
  port?: number;
  compatibilityDate?: string;
  compatibilityFlags?: string[];
  /** Extra package export conditions for the bundle, tried first (this repository's tests use `["source"]` to bundle Cellar from its sources). */
  conditions?: string[];
  /** Worker environment variables. */
  vars?: Record<string, string>;
}

export interface WorkerdServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly persistDir: string;
  /** `ws://127.0.0.1:<port>/rooms/<kind>/<id>` */
  roomUrl(kind: string, id: string): string;
  /** A client of an instance (not connected yet); closed by `close()`. */
  client(kind: string, id: string, options?: ClientOptions): CellarClient;
  /** Disposes of workerd and starts it again on the same data and port (like a restart of the machine). */
  restart(): Promise<void>;
  /** The process id of workerd (for CPU measurements). */
  pid(): number | undefined;
  /** Closes every client made here, stops workerd, and removes a temporary `persistDir`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

interface WranglerConfig {
  main?: string;
  compatibility_date?: string;
  compatibility_flags?: string[];
  durable_objects?: { bindings?: Array<{ name: string; class_name: string }> };
  kv_namespaces?: Array<{ binding: string }>;
  assets?: {
    directory?: string;
    binding?: string;
    run_worker_first?: boolean | string[];
    not_found_handling?: "single-page-application" | "404-page" | "none";
    html_handling?: "auto-trailing-slash" | "force-trailing-slash" | "drop-trailing-slash" | "none";
  };
  vars?: Record<string, string>;
  build?: { command?: string };
}

/**
 * Runs a Cellar Worker in workerd (through Miniflare, installed beside `cellar`), for tests
 * and local runs, with its Durable Objects persisted on disk.
 *
 * @example
 * const server = await startWorkerdServer({ wrangler: "examples/counter/wrangler.jsonc" });
 * const client = server.client("counter", "main");
 * await client.waitForConnection();
 * await server.restart(); // the data stays
 * await server.close();
 */
export async function startWorkerdServer(options: WorkerdServerOptions): Promise<WorkerdServer> {
  const [{ Miniflare }, { build }, jsonc] = await Promise.all([import("miniflare"), import("esbuild"), import("jsonc-parser")]);
  const configDir = options.wrangler ? dirname(resolve(options.wrangler)) : process.cwd();
  const config: WranglerConfig = options.wrangler ? jsonc.parse(readFileSync(options.wrangler, "utf8")) : {};
  const entry = options.entry ?? (config.main ? join(configDir, config.main) : undefined);
  if (!entry) throw new Error("startWorkerdServer: give `entry`, or a `wrangler` config with `main`");
  if (config.build?.command) execSync(config.build.command, { cwd: configDir, stdio: "pipe" });
  const durableObjects =
    options.durableObjects ??
    (config.durable_objects?.bindings ? Object.fromEntries(config.durable_objects.bindings.map((b) => [b.name, b.class_name])) : { CELLAR_ROOMS: "CellarRooms" });
  const assetsDir = options.assets ?? (config.assets?.directory ? join(configDir, config.assets.directory) : undefined);
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: [...(options.conditions ?? []), "workerd", "worker", "import", "default"],
    external: ["cloudflare:*", "node:*"],
    logLevel: "silent",
  });
  const persistDir = options.persistDir ?? mkdtempSync(join(tmpdir(), "cellar-workerd-"));
  const port = options.port ?? (await freePort());
  const miniflareOptions = {
    host: "127.0.0.1",
    port,
    modulesRoot: configDir,
    modules: [{ type: "ESModule" as const, path: join(configDir, "worker.js"), contents: bundle.outputFiles[0]!.text }],
    compatibilityDate: options.compatibilityDate ?? config.compatibility_date ?? "2025-04-01",
    compatibilityFlags: options.compatibilityFlags ?? config.compatibility_flags ?? [],
    durableObjects: Object.fromEntries(Object.entries(durableObjects).map(([name, className]) => [name, { className, useSQLite: true }])),
    kvNamespaces: options.kvNamespaces ?? config.kv_namespaces?.map((k) => k.binding) ?? [],
    bindings: { ...config.vars, ...options.vars },
    durableObjectsPersist: join(persistDir, "do"),
    kvPersist: join(persistDir, "kv"),
    ...(assetsDir ? { assets: assetsOptions(assetsDir, config.assets ?? {}) } : {}),
  };
  const start = async () => {
    const mf = new Miniflare(miniflareOptions);
    await mf.ready;
    return mf;
  };
  let mf = await start();
  const url = `http://127.0.0.1:${port}`;
  const clients = new Set<CellarClient>();
  return {
    url,
    persistDir,
    roomUrl: (kind, id) => roomUrl(url, kind, id),
    client(kind, id, clientOptions) {
      const c = nodeClient(roomUrl(url, kind, id), clientOptions);
      clients.add(c);
      return c;
    },
    async restart() {
      await mf.dispose();
      mf = await start();
    },
    pid: () => workerdPid(),
    async close({ keepData = false } = {}) {
      for (const c of clients) if (c.state !== "closed") c.close();
      await mf.dispose();
      if (!keepData && options.persistDir === undefined) rmSync(persistDir, { recursive: true, force: true });
    },
  };
}

/** Workers static assets as wrangler.jsonc describes them, in Miniflare's terms. */
function assetsOptions(directory: string, assets: NonNullable<WranglerConfig["assets"]>) {
  const first = assets.run_worker_first;
  return {
    directory,
    ...(assets.binding ? { binding: assets.binding } : {}),
    routerConfig: {
      has_user_worker: true,
      invoke_user_worker_ahead_of_assets: first === true,
      ...(Array.isArray(first) ? { static_routing: { user_worker: first } } : {}),
    },
    assetConfig: {
      ...(assets.not_found_handling ? { not_found_handling: assets.not_found_handling } : {}),
      ...(assets.html_handling ? { html_handling: assets.html_handling } : {}),
    },
  };
}

/** The newest workerd child of this process (Miniflare starts one per instance). */
function workerdPid(): number | undefined {
  try {
    const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    const workerds = children.filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd";
      } catch {
        return false;
      }
    });
    return workerds.length > 0 ? Math.max(...workerds) : undefined;
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}
