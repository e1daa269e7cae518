import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createArenaServer } from "../../apps/sommelier-arena/src/server/arena.js";
import { serve } from "../lib/ipc-host.js";

/**
 * P6's server: Sommelier Arena (`createArenaServer`, the session room, the HTTP API) in its
 * own process, as deployed: Cellar's and the arena's defaults (rate limit, resume window,
 * replay log, heartbeat, 60 s question timer ticking once a second), on a free port with a
 * temporary data directory removed on exit. No web app is served (`webDir` is the empty
 * data directory): P6 needs only the API and the rooms.
 */
const dataDir = mkdtempSync(join(tmpdir(), "cellar-bench-arena-"));
const server = createArenaServer({ dataDir, webDir: dataDir, port: 0, logLevel: "silent", signals: false });
const { port } = await server.listen();

serve(`ws://127.0.0.1:${port}`, {
  commands: {
    stats: () => server.stats(),
  },
  async close() {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  },
});
