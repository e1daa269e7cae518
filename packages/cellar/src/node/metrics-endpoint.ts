import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { constantTimeEqual } from "../core/ids.js";
import type { Logger } from "../core/ports.js";
import type { Metrics } from "./metrics.js";
import type { ResolvedMetricsOptions } from "./options.js";
import { createRequestIds } from "./request-ids.js";

/**
 * Internal: where Prometheus scrapes a server. Either a listener of its own (by default on
 * 127.0.0.1, off the public port), or the server's own port, where a scrape must carry the
 * bearer token and every other path goes to the app as before.
 */
export class MetricsEndpoint {
  readonly #o: ResolvedMetricsOptions;
  readonly #log: Logger;
  readonly #requestId = createRequestIds();
  #listener: Server | undefined;
  #address: AddressInfo | undefined;

  constructor(
    readonly metrics: Metrics,
    options: ResolvedMetricsOptions,
    log: Logger,
  ) {
    this.#o = options;
    this.#log = log;
  }

  /** The server's request listener, answering scrapes first when they share its port. */
  wrap(app: RequestListener): RequestListener {
    if (this.#o.listener) return app;
    return (req, res) => (this.#isPath(req) ? void this.#answer(req, res) : app(req, res));
  }

  /** Starts the listener of its own, if the endpoint has one. */
  async listen(): Promise<void> {
    const at = this.#o.listener;
    if (!at || this.#listener) return;
    const server = createServer((req, res) => {
      if (this.#isPath(req)) return void this.#answer(req, res);
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(at.port, at.host, () => resolve());
    });
    this.#listener = server;
    this.#address = server.address() as AddressInfo;
  }

  /** The URL to scrape; on a listener of its own, known once it listens. */
  url(serverUrl: string): string | undefined {
    if (!this.#o.listener) return `${serverUrl}${this.#o.path}`;
    const a = this.#address;
    if (!a) return undefined;
    return `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}${this.#o.path}`;
  }

  async close(): Promise<void> {
    const server = this.#listener;
    if (!server) return;
    this.#listener = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  #isPath(req: IncomingMessage): boolean {
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    return (query === -1 ? url : url.slice(0, query)) === this.#o.path;
  }

  async #answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = this.#o.token;
    if (token !== undefined && !constantTimeEqual(bearer(req.headers.authorization), token)) {
      // Anyone may knock, as often as they like: a debug line, never more.
      this.#log.debug({ req: this.#requestId(req) }, "metrics scrape refused: no valid bearer token");
      res.writeHead(401, { "content-type": "application/json", "www-authenticate": 'Bearer realm="metrics"' }).end('{"code":"UNAUTHORIZED"}');
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("Method not allowed");
      return;
    }
    try {
      const body = await this.metrics.render();
      res.writeHead(200, { "content-type": this.metrics.registry.contentType }).end(req.method === "HEAD" ? undefined : body);
    } catch (error) {
      this.#log.error({ err: error, req: this.#requestId(req) }, "metrics scrape failed");
      res.writeHead(500, { "content-type": "application/json" }).end('{"code":"INTERNAL_ERROR"}');
    }
  }
}

/** The token of an `Authorization: Bearer <token>` header ("" when there is none). */
function bearer(header: string | undefined): string {
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  return match ? match[1]! : "";
}
