import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * A TCP proxy between clients and a server that a test can break on purpose: `sever()` cuts
 * every connection at once (the client sees 1006, the server a reset), `stall()` stops
 * bytes flowing while connections stay open (a dead network that has not said so yet),
 * `refuse()` turns new connections away (the network is still down).
 */
export interface TcpProxy {
  /** Where clients connect: `127.0.0.1:<port>`. */
  readonly port: number;
  /** Rewrites a URL of the target server to go through the proxy. */
  via(url: string): string;
  /** Destroys every open connection, both sides. */
  sever(): void;
  /** Holds every byte in both directions until `flow()`, on open and new connections. */
  stall(): void;
  /** Lets bytes flow again (what was held is delivered). */
  flow(): void;
  /** Turns new connections away (destroyed on arrival) until `accept()`. */
  refuse(): void;
  accept(): void;
  /** Connections open now. */
  readonly open: number;
  /** Points the proxy at another port (a restarted server on a new port). */
  retarget(port: number): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  server: Socket;
}

/**
 * Starts a proxy in front of `targetPort` on 127.0.0.1.
 *
 * @example
 * const proxy = await startTcpProxy(server.port);
 * const client = new CellarClient(proxy.via(server.roomUrl("chat", "a")), { WebSocket });
 * proxy.sever(); // the client reconnects and resumes
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let target = targetPort;
  let stalled = false;
  let refusing = false;
  const pairs = new Set<Pair>();

  const pipe = (from: Socket, to: Socket) => {
    from.on("data", (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on("drain", () => {
      if (!stalled) from.resume();
    });
  };

  const server: Server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(target, "127.0.0.1");
    const pair = { client, server: upstream };
    pairs.add(pair);
    if (stalled) {
      client.pause();
      upstream.pause();
    }
    pipe(client, upstream);
    pipe(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on("error", end);
      socket.on("close", end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;

  const proxy: TcpProxy = {
    port,
    via(url) {
      const parsed = new URL(url);
      parsed.host = `127.0.0.1:${port}`;
      return parsed.toString();
    },
    sever() {
      for (const { client, server: upstream } of pairs) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      pairs.clear();
    },
    stall() {
      stalled = true;
      for (const { client, server: upstream } of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    flow() {
      stalled = false;
      for (const { client, server: upstream } of pairs) {
        client.resume();
        upstream.resume();
      }
    },
    refuse() {
      refusing = true;
    },
    accept() {
      refusing = false;
    },
    get open() {
      return pairs.size;
    },
    retarget(newPort) {
      target = newPort;
    },
    close() {
      proxy.sever();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
