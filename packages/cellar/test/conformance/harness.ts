/*
 * The conformance suite's view of a host. Every test in this folder talks to rooms only
 * through real clients over real sockets, and to the host only through `ConformanceHost`,
 * so the same file runs against the Node host and against workerd (Miniflare). Which host
 * a run uses comes from CELLAR_HOST ("node" or "workerd"), set per vitest project.
 *
 * The rooms under test are `rooms.ts` beside this file: it imports only `cellar`, so it can
 * be bundled into a Worker.
 */
import { afterEach } from "vitest";
import type { CellarClient, ClientOptions } from "cellar/client";
import type { StorageLimits } from "cellar";

export type HostName = "node" | "workerd";

/** Options both hosts accept, as the Node `createServer` and the Cloudflare `createWorker` name them. */
export interface HostConfig {
  allowedOrigins?: readonly string[] | "*";
  resumeWindowMs?: number;
  replayLogMaxEntries?: number;
  limits?: Partial<StorageLimits>;
  rateLimit?: { eventsPerSecond?: number; burst?: number };
  maxPayloadBytes?: number;
  handshakeTimeoutMs?: number;
}

export interface ConformanceHost {
  readonly name: HostName;
  /** `http://127.0.0.1:<port>`; stays the same across `restart()`. */
  readonly url: string;
  /** `ws://…/rooms/<kind>/<id>` */
  roomUrl(kind: string, id: string): string;
  /** A client that is not connected yet; closed by `close()`. */
  client(kind: string, id: string, options?: ClientOptions): CellarClient;
  /** A client whose handshake completed. */
  connect(kind: string, id: string, options?: ClientOptions): Promise<CellarClient>;
  /** Runs a room action (`room.action`) in an instance, as app code would; rejects with its `CellarError`. */
  call<R = unknown>(kind: string, id: string, action: string, args?: unknown): Promise<R>;
  /**
   * Takes every idle instance out of memory while its sockets stay open. Node does it at
   * once; workerd evicts an object only after ~10 s without events, so this waits that long
   * (nothing tells a test from outside that an object was evicted).
   */
  hibernateAll(): Promise<void>;
  /** Stops the host (its process or its workerd) and starts it again on the same data and port. */
  restart(): Promise<void>;
  /** Stops the host and removes its data. */
  close(): Promise<void>;
}

export const hostName: HostName = (process.env.CELLAR_HOST as HostName | undefined) ?? "node";

/**
 * Starts the fixture rooms on the host this run tests, and closes it after the test.
 *
 * @example
 * const hosts = useHost();
 * it("counts", async () => {
 *   const host = await hosts.start();
 *   const c = await host.connect("counter", "a");
 * });
 */
export function useHost(): { start(config?: HostConfig): Promise<ConformanceHost> } {
  const started: ConformanceHost[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((h) => h.close()));
  });
  return {
    async start(config = {}) {
      const host = hostName === "workerd" ? await (await import("./workerd-host.js")).startWorkerdHost(config) : await (await import("./node-host.js")).startNodeHost(config);
      started.push(host);
      return host;
    },
  };
}
