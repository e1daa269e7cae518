/**
 * Runs Sommelier Arena: `npm start` at the repository root (which builds first), then open
 * http://localhost:8787. Environment: PORT (8787), DATA_DIR (./data), HOST (127.0.0.1),
 * LOG_LEVEL (info), HOST_GRACE_MS (how long a session waits for an absent host, 1 hour),
 * MIN_TIMER_SECONDS (lowest timer allowed, 15; for demos and tests). Operations (README):
 * METRICS_PORT or METRICS_TOKEN (Prometheus metrics), INSPECTOR_TOKEN (the inspector),
 * BACKUP_DIR with BACKUP_EVERY_MINUTES (60) and BACKUP_KEEP (24) (scheduled backups).
 */
import { createArenaServer } from "./arena.js";
import { scheduleBackups } from "./backups.js";

const env = process.env;
const number = (name: string) => (env[name] ? Number(env[name]) : undefined);

const metrics = env.METRICS_TOKEN
  ? { token: env.METRICS_TOKEN, ...(env.METRICS_PORT && { port: number("METRICS_PORT") }) }
  : env.METRICS_PORT
    ? { port: number("METRICS_PORT") }
    : undefined;

const server = createArenaServer({
  port: number("PORT") ?? 8787,
  host: env.HOST ?? "127.0.0.1",
  dataDir: env.DATA_DIR ?? "./data",
  logLevel: env.LOG_LEVEL ?? "info",
  hostGraceMs: number("HOST_GRACE_MS"),
  minTimerSeconds: number("MIN_TIMER_SECONDS"),
  ...(metrics && { metrics }),
  ...(env.INSPECTOR_TOKEN && { inspector: { token: env.INSPECTOR_TOKEN } }),
});
const { url } = await server.listen();
console.log(`Sommelier Arena on ${url.replace("127.0.0.1", "localhost")}`);
if (env.BACKUP_DIR) {
  scheduleBackups(server, { dir: env.BACKUP_DIR, everyMs: (number("BACKUP_EVERY_MINUTES") ?? 60) * 60_000, keep: number("BACKUP_KEEP") ?? 24 });
}
