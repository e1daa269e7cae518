import { spawn, type ChildProcess } from "node:child_process";
import type { CellarClient, ClientOptions } from "../client/client.js";
import { roomUrl } from "../node/routes.js";
import type { CellarServer } from "../node/server.js";
import { nodeClient } from "./node-client.js";

const READY = "CELLAR_LISTENING ";

/**
 * For a script run by `startServerProcess`: tells the parent the server is listening.
 *
 * @example
 * // server-fixture.ts
 * const server = createServer({ rooms, dataDir: process.env.DATA_DIR, port: 0 });
 * await server.listen();
 * announceListening(server);
 */
export function announceListening(server: CellarServer): void {
  process.stdout.write(`${READY}${server.url}\n`);
}

export interface ServerProcess {
  readonly url: string;
  /** `ws://host:port/rooms/<kind>/<id>` on this server. */
  roomUrl(kind: string, id: string): string;
  /** A client of an instance on this server (not yet connected; `ws` as its WebSocket). The test closes it. */
  client(kind: string, id: string, options?: ClientOptions): CellarClient;
  readonly child: ChildProcess;
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

export interface ServerProcessOptions {
  /** The script to run; it must call `announceListening(server)`. */
  script: string;
  /** Extra environment variables (merged over the parent's). */
  env?: Record<string, string>;
  /** Node flags, e.g. `["--import", "tsx"]` to run a TypeScript script. */
  execArgv?: string[];
  /** How long to wait for the announcement (default 20,000 ms). */
  timeoutMs?: number;
}

/** Starts a server in a child process (for crash tests) and waits until it listens. */
export function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...(options.execArgv ?? []), options.script], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Server process did not announce itself within ${options.timeoutMs ?? 20_000} ms:\n${output}`));
    }, options.timeoutMs ?? 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n").find((l) => l.startsWith(READY));
      if (!line) return;
      clearTimeout(timer);
      const url = line.slice(READY.length).trim();
      child.stdout!.off("data", onData);
      child.stdout!.on("data", (more: Buffer) => (output += more.toString()));
      resolve({
        url,
        roomUrl: (kind, id) => roomUrl(url, kind, id),
        client: (kind, id, clientOptions) => nodeClient(roomUrl(url, kind, id), clientOptions),
        child,
        exited,
        output: () => output,
        async kill(signal = "SIGKILL") {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`Server process exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
}
