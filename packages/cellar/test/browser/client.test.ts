import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { CellarClient, type WebSocketConstructor } from "cellar/client";
import { startServerProcess, tempDataDir, type ServerProcess } from "cellar/testing";

/*
 * The client as a browser runs it: bundled by esbuild into one ES module, loaded by a page
 * (page.html) from the server that hosts the room (server.ts, in a child process so that it
 * can be SIGKILLed), in Debian's Chromium driven by Playwright.
 */

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];
const skipReason = existsSync(CHROMIUM) ? undefined : `SKIPPED: ${CHROMIUM} not found (install Debian's chromium to run the browser tests)`;
if (skipReason) console.warn(skipReason);

/** What page.html records on window.cellar. */
interface PageLog {
  url: string;
  lines: number[];
  states: string[];
  resumed: Array<{ replayed: number }>;
  resynced: Array<{ code: number }>;
  retries: Array<{ attempt: number; delayMs: number; code: number; at: number }>;
  openedAt: number[];
}
interface TestWindow {
  cellar: { client: CellarClient; log: PageLog; queued?: Promise<unknown> };
}

describe.skipIf(skipReason !== undefined)(skipReason ?? "a page using the bundled client (Chromium)", () => {
  let browser: Browser;
  let bundleDir: string;
  let dataDir: string;
  let port: number;
  let server: ServerProcess | undefined;
  let context: BrowserContext | undefined;
  const emitters: CellarClient[] = [];

  const base = () => `http://127.0.0.1:${port}`;
  const roomUrl = (room: string) => `ws://127.0.0.1:${port}/rooms/feed/${room}`;

  /** Starts server.ts on the fixed port and the shared data directory. */
  async function startServer(): Promise<void> {
    server = await startServerProcess({
      script: fileURLToPath(new URL("./server.ts", import.meta.url)),
      env: { DATA_DIR: dataDir, PORT: String(port), CLIENT_BUNDLE: join(bundleDir, "cellar-client.js") },
      execArgv: ["--conditions=source", "--import", "tsx"],
    });
  }

  const serverRunning = () => server !== undefined && server.child.exitCode === null && server.child.signalCode === null;

  /** A Node client in the same room, to emit lines the page should receive. */
  async function emitter(room: string): Promise<CellarClient> {
    const client = new CellarClient(roomUrl(room), { WebSocket: WebSocket as unknown as WebSocketConstructor });
    emitters.push(client);
    await client.waitForConnection();
    return client;
  }

  async function openPage(query: Record<string, string | number>, setup?: (context: BrowserContext) => Promise<unknown>): Promise<Page> {
    context = await browser.newContext();
    await setup?.(context);
    const page = await context.newPage();
    const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    await page.goto(`${base()}/?${search}`);
    await expect.poll(() => page.textContent("#state")).toBe("open");
    return page;
  }

  const pageLog = (page: Page) => page.evaluate(() => (window as unknown as TestWindow).cellar.log);
  const pageConnectionId = (page: Page) => page.evaluate(() => (window as unknown as TestWindow).cellar.client.connectionId);
  const pageLines = (page: Page) => page.locator("#lines li").allTextContents();

  /**
   * Reloads the page and runs `meanwhile` after the old document is gone and before the new
   * one has its client: the new document's request for the client's bundle waits for it.
   */
  async function reloadWhile(page: Page, meanwhile: () => Promise<void>): Promise<void> {
    let ran = false;
    await page.route("**/cellar-client.js", async (route) => {
      try {
        await meanwhile();
        ran = true;
      } finally {
        await route.continue();
      }
    });
    await page.reload();
    await page.unroute("**/cellar-client.js");
    expect(ran).toBe(true);
  }

  beforeAll(async () => {
    bundleDir = mkdtempSync(join(tmpdir(), "cellar-browser-"));
    const bundled = await build({
      entryPoints: [fileURLToPath(new URL("../../src/client/index.ts", import.meta.url))],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      write: false,
    });
    writeFileSync(join(bundleDir, "cellar-client.js"), bundled.outputFiles[0]!.text);
    dataDir = tempDataDir();
    // A fixed port for the whole file, so that pages keep a valid URL across restarts.
    port = await new Promise<number>((resolve, reject) => {
      const probe = createNetServer().once("error", reject);
      probe.listen(0, "127.0.0.1", () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    [browser] = await Promise.all([chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }), startServer()]);
  });

  beforeEach(async () => {
    // A test that failed between a kill and the restart must not take the next ones down.
    if (!serverRunning()) await startServer();
  });

  afterEach(async () => {
    for (const client of emitters.splice(0)) client.close();
    await context?.close();
    context = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.kill("SIGKILL");
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  it("survives a reload: the session is kept in localStorage and the page gets what was emitted while it reloaded", async () => {
    const feed = await emitter("reload");
    const page = await openPage({ room: "reload" });
    const connectionId = await pageConnectionId(page);
    expect(await feed.request("say")).toBe(1);
    await expect.poll(() => pageLines(page)).toEqual(["1"]);

    const key = `cellar:${roomUrl("reload")}`;
    const stored = async () => JSON.parse((await page.evaluate((k) => localStorage.getItem(k), key)) ?? "null") as unknown;
    const lastSeq = await page.evaluate(() => (window as unknown as TestWindow).cellar.client.lastSeq);
    expect(lastSeq).toBeGreaterThan(0);
    expect(await stored()).toEqual({ token: expect.stringMatching(new RegExp(`^${connectionId}\\.`)), lastSeq });

    await reloadWhile(page, async () => {
      expect(await feed.request("say")).toBe(2);
      expect(await feed.request("say")).toBe(3);
    });

    await expect.poll(() => page.textContent("#state")).toBe("open");
    const log = await pageLog(page);
    expect(log.resumed).toEqual([{ replayed: 2 }]);
    expect(await pageConnectionId(page)).toBe(connectionId);
    await expect.poll(() => pageLines(page)).toEqual(["2", "3"]);
    expect(await feed.request("say")).toBe(4);
    await expect.poll(() => pageLines(page)).toEqual(["2", "3", "4"]);
    // The room saw the same connection come back, resumed.
    const connects = (await feed.request("connects")) as Array<{ id: string; resumed: boolean }>;
    expect(connects.filter((c) => c.id === connectionId)).toEqual([
      { id: connectionId, resumed: false },
      { id: connectionId, resumed: true },
    ]);
    expect(await stored()).toEqual({ token: expect.stringMatching(new RegExp(`^${connectionId}\\.`)), lastSeq: expect.any(Number) });
  });

  it("keeps the session in a cookie when localStorage throws, and still resumes after a reload", async () => {
    const feed = await emitter("cookie");
    const page = await openPage({ room: "cookie" }, (ctx) =>
      ctx.addInitScript(() => {
        Object.defineProperty(window, "localStorage", {
          configurable: true,
          get() {
            throw new DOMException("Access is denied for this document.", "SecurityError");
          },
        });
      }),
    );
    expect(await page.evaluate(() => {
      try {
        void localStorage;
        return "readable";
      } catch (error) {
        return (error as DOMException).name;
      }
    })).toBe("SecurityError");
    const connectionId = await pageConnectionId(page);
    expect(await feed.request("say")).toBe(1);
    await expect.poll(() => pageLines(page)).toEqual(["1"]);

    const key = `cellar:${roomUrl("cookie")}`;
    const cookieName = `cellar_${encodeURIComponent(key).replace(/%/g, "_")}`;
    const cookie = (await context!.cookies(base())).find((c) => c.name === cookieName);
    expect(cookie, `a cookie named ${cookieName}`).toBeDefined();
    const lastSeq = await page.evaluate(() => (window as unknown as TestWindow).cellar.client.lastSeq);
    expect(JSON.parse(decodeURIComponent(cookie!.value))).toEqual({ token: expect.stringMatching(new RegExp(`^${connectionId}\\.`)), lastSeq });
    expect(await page.evaluate(() => document.cookie)).toContain(`${cookieName}=`);
    // Nothing went to localStorage behind the page's back.
    const { origins } = await context!.storageState();
    expect(origins.flatMap((o) => o.localStorage).filter((entry) => entry.name.startsWith("cellar:"))).toEqual([]);

    await reloadWhile(page, async () => {
      expect(await feed.request("say")).toBe(2);
    });

    await expect.poll(() => page.textContent("#state")).toBe("open");
    expect((await pageLog(page)).resumed).toEqual([{ replayed: 1 }]);
    expect(await pageConnectionId(page)).toBe(connectionId);
    await expect.poll(() => pageLines(page)).toEqual(["2"]);
  });

  it("survives a server restart: reconnecting while it is down, then resumes with what it missed and what follows", async () => {
    // Short backoff, and `online` events kept from the client: it comes back on its own timer.
    const page = await openPage({ room: "restart", initialDelayMs: 100, maxDelayMs: 400 }, (ctx) =>
      ctx.addInitScript(() => window.addEventListener("online", (event) => event.stopImmediatePropagation(), true)),
    );
    const connectionId = await pageConnectionId(page);
    // An acknowledged request: its effect (the room's next line number) must survive the crash.
    expect(await page.evaluate(() => (window as unknown as TestWindow).cellar.client.request("say"))).toBe(1);
    await expect.poll(() => pageLines(page)).toEqual(["1"]);

    await server!.kill("SIGKILL");
    await expect.poll(() => page.textContent("#state")).toBe("reconnecting");
    // Sent while the server is down: queued, and sent once the session is back.
    await page.evaluate(() => {
      const cellar = (window as unknown as TestWindow).cellar;
      cellar.queued = cellar.client.request("say");
    });

    // The browser stays off the network until the restarted server has emitted what the
    // page is to miss.
    await context!.setOffline(true);
    await startServer();
    const feed = await emitter("restart");
    expect(await feed.request("say")).toBe(2);
    expect(await feed.request("say")).toBe(3);
    await context!.setOffline(false);

    await expect.poll(() => page.textContent("#state")).toBe("open");
    const log = await pageLog(page);
    expect(log.states).toEqual(["open", "reconnecting", "open"]);
    expect(log.resumed).toEqual([{ replayed: 2 }]);
    expect(log.resynced).toEqual([]);
    expect(await pageConnectionId(page)).toBe(connectionId);
    expect(await page.evaluate(() => (window as unknown as TestWindow).cellar.queued)).toBe(4);
    expect(await feed.request("say")).toBe(5);
    await expect.poll(() => pageLines(page)).toEqual(["1", "2", "3", "4", "5"]);
  });

  /** Opens a page whose next retry is 30 s away, crashes and restarts the server behind it. */
  async function waitingThirtySeconds(room: string): Promise<{ page: Page; connectionId: string | undefined; feed: CellarClient }> {
    const page = await openPage({ room, initialDelayMs: 30_000, maxDelayMs: 30_000, jitter: 0 });
    const connectionId = await pageConnectionId(page);
    await server!.kill("SIGKILL");
    await expect.poll(() => page.textContent("#state")).toBe("reconnecting");
    await startServer();
    const feed = await emitter(room);
    expect(await feed.request("say")).toBe(1);
    const log = await pageLog(page);
    expect(log.states.at(-1)).toBe("reconnecting");
    expect(log.retries.map(({ delayMs, code }) => ({ delayMs, code }))).toEqual([{ delayMs: 30_000, code: 1006 }]);
    return { page, connectionId, feed };
  }

  async function expectPromptResume(page: Page, connectionId: string | undefined, since: number): Promise<void> {
    await expect.poll(() => page.textContent("#state"), { timeout: 10_000 }).toBe("open");
    const elapsed = Date.now() - since;
    expect(elapsed).toBeLessThan(5_000);
    const log = await pageLog(page);
    expect(log.retries).toHaveLength(1); // nothing else was scheduled: the event did it
    expect(log.resumed).toEqual([{ replayed: 1 }]);
    expect(await pageConnectionId(page)).toBe(connectionId);
    await expect.poll(() => pageLines(page)).toEqual(["1"]);
  }

  it("reconnects at once when the browser comes back online, not after the 30 s backoff", async () => {
    const { page, connectionId } = await waitingThirtySeconds("online");
    await context!.setOffline(true);
    const since = Date.now();
    await context!.setOffline(false); // the browser fires `online`
    await expectPromptResume(page, connectionId, since);
  });

  it("reconnects at once when the page becomes visible again, not after the 30 s backoff", async () => {
    const { page, connectionId } = await waitingThirtySeconds("visible");
    const since = Date.now();
    await page.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await expectPromptResume(page, connectionId, since);
  });
});
