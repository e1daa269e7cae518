import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "cellar/node";
import { serve } from "../lib/ipc-host.js";
import { rooms } from "./rooms.js";

/**
 * The Cellar server under test, in its own process. The rate limiter is set out of the
 * way (it is not what is measured) and hibernation happens only when the parent asks.
 */
const config = JSON.parse(process.argv[2] ?? "{}") as { handshakeTimeoutMs?: number; metrics?: boolean };
const dataDir = mkdtempSync(join(tmpdir(), "cellar-bench-"));
const server = createServer({
  rooms,
  dataDir,
  port: 0,
  logLevel: "silent",
  signals: false,
  hibernateAfterMs: 3_600_000,
  rateLimit: { eventsPerSecond: 1e6, burst: 1e6 },
  ...(config.handshakeTimeoutMs ? { handshakeTimeoutMs: config.handshakeTimeoutMs } : {}),
  // `--metrics`: on a listener of their own, as in production; scraped only by `scrape`.
  ...(config.metrics ? { metrics: { port: 0 } } : {}),
});
const { port } = await server.listen();

serve(`ws://127.0.0.1:${port}`, {
  commands: {
    hibernate: ({ kind, id }: { kind?: string; id?: string } = {}) => server.hibernate(kind, id),
    stats: () => server.stats(),
    /** One Prometheus scrape: how long it took and how big it was (after one untimed: `fetch` loads itself on first use). */
    scrape: async () => {
      await (await fetch(server.metricsUrl!)).text();
      const started = performance.now();
      const text = await (await fetch(server.metricsUrl!)).text();
      return { ms: performance.now() - started, bytes: text.length };
    },
    /** Writes persisted state into instances `<prefix><from…from+count-1>` of `kind`, without connections. */
    populate: async ({ kind, prefix, from = 0, count }: { kind: string; prefix: string; from?: number; count: number }) => {
      const writes: Promise<unknown>[] = [];
      for (let i = from; i < from + count; i++) {
        writes.push(
          server.invoke(kind, `${prefix}${i}`, (ctx) => {
            ctx.state.n = i;
            ctx.state.note = `room ${i}`;
          }),
        );
      }
      await Promise.all(writes);
      return count;
    },
  },
  async close() {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  },
});
