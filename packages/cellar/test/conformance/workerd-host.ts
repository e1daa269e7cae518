/*
 * The Cloudflare host under the conformance suite: the fixture rooms bundled into a Worker
 * with `cellar/cloudflare`, run by workerd through Miniflare on a fixed port, with its
 * Durable Objects and KV persisted in a temporary directory. `restart()` disposes of
 * workerd and starts a new one on the same directory and port.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { CellarError } from "cellar";
import { startWorkerdServer } from "cellar/testing";
import type { ConformanceHost, HostConfig } from "./harness.js";

const src = (path: string) => fileURLToPath(new URL(`../../src/${path}`, import.meta.url));

/** KV namespaces the fixture rooms use. */
const KV_NAMESPACES = ["NS", "OTHER", "HOSTS"];

/** workerd evicts an object whose only activity is hibernatable sockets after about 10 s; the margin covers a loaded machine. */
const EVICTION_MS = 13_000;

export async function startWorkerdHost(config: HostConfig, roomsModule = fileURLToPath(new URL("./rooms.ts", import.meta.url))): Promise<ConformanceHost> {
  const dir = mkdtempSync(join(tmpdir(), "cellar-workerd-"));
  const entry = join(dir, "worker.ts");
  writeFileSync(
    entry,
    [
      `import { createWorker } from ${JSON.stringify(src("cloudflare/index.ts"))};`,
      `import { rooms } from ${JSON.stringify(roomsModule)};`,
      // The app answers POST /call with a room action's outcome, for host.call(), and 404 to
      // anything else (as createWorker does without an app).
      `const app = { async fetch(request, env) {`,
      `  if (request.method !== "POST" || new URL(request.url).pathname !== "/call") return new Response("Not found", { status: 404 });`,
      `  const { kind, id, action, args } = await request.json();`,
      `  try { return Response.json({ ok: true, value: await cellar.rooms(env).call(kind, id, action, args) }); }`,
      `  catch (error) { return Response.json({ ok: false, code: error.code, message: error.message }); }`,
      `} };`,
      `const cellar = createWorker({ rooms, app, logLevel: "silent", ...${JSON.stringify(config)} });`,
      `export const CellarRooms = cellar.RoomObject;`,
      `export default { fetch: cellar.fetch };`,
    ].join("\n"),
  );
  const server = await startWorkerdServer({
    entry,
    kvNamespaces: KV_NAMESPACES,
    persistDir: join(dir, "data"),
    conditions: ["source"],
  });
  const host: ConformanceHost = {
    name: "workerd",
    url: server.url,
    roomUrl: (kind, id) => server.roomUrl(kind, id),
    client: (kind, id, options) => server.client(kind, id, options),
    async connect(kind, id, options) {
      const c = server.client(kind, id, options);
      await c.waitForConnection();
      return c;
    },
    async call<R>(kind: string, id: string, action: string, args?: unknown): Promise<R> {
      const response = await fetch(`${server.url}/call`, { method: "POST", body: JSON.stringify({ kind, id, action, args }) });
      const result = (await response.json()) as { ok: true; value: R } | { ok: false; code: string; message: string };
      if (!result.ok) throw new CellarError(result.code, result.message);
      return result.value;
    },
    async hibernateAll() {
      // Nothing outside workerd says an object was evicted; the tests check onHibernationRestore ran.
      await sleep(EVICTION_MS);
    },
    restart: () => server.restart(),
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return host;
}
