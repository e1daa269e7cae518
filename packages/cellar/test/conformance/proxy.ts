/*
 * A TCP proxy in the test process, in front of the host (it works in front of any host), for
 * the tests that break a client's network on purpose: `sever()` cuts the sockets through it,
 * `refuse()` keeps them away, `accept()` lets them back. The proxy and the clients made
 * through it are closed after each test.
 */
import { afterEach } from "vitest";
import { WebSocket } from "ws";
import { CellarClient, type ClientOptions, type WebSocketConstructor } from "cellar/client";
import { startTcpProxy, type TcpProxy } from "cellar/testing";
import type { ConformanceHost } from "./harness.js";

export const WS = WebSocket as unknown as WebSocketConstructor;

/** Quick reconnects, so that a test does not wait for the client's backoff. */
export const fast = { initialDelayMs: 10, maxDelayMs: 50 };

export function useProxy(): {
  /** Starts the proxy in front of `host`. */
  start(host: ConformanceHost): Promise<TcpProxy>;
  /** A client whose every socket goes through the proxy (reconnecting `fast`). */
  viaProxy(host: ConformanceHost, kind: string, id: string, options?: ClientOptions): CellarClient;
  /** Closes `client` after the test. */
  track(client: CellarClient): CellarClient;
} {
  let proxy: TcpProxy | undefined;
  const clients: CellarClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await proxy?.close();
    proxy = undefined;
  });
  const track = (client: CellarClient) => (clients.push(client), client);
  return {
    async start(host) {
      proxy = await startTcpProxy(Number(new URL(host.url).port));
      return proxy;
    },
    viaProxy: (host, kind, id, options = {}) => track(new CellarClient(proxy!.via(host.roomUrl(kind, id)), { WebSocket: WS, reconnect: fast, ...options })),
    track,
  };
}
