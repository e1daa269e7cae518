import { existsSync, rmSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tempDataDir, type ServerProcess } from "cellar/testing";
import type { ServerConfig } from "../../src/shared/protocol.js";
import { buildWeb, CHROMIUM, createTasting, joinAs, launchChromium, newContext, PHONE, startArenaProcess, TV, type WineSpec } from "./browser-helpers.js";

/*
 * The TV's page opened at localhost, as a host starting the app on a laptop does: phones
 * cannot open localhost, so the lobby's join link and QR code use the server's network
 * address when it listens on every interface, and say what to do when it does not.
 */

const skipReason = existsSync(CHROMIUM) ? undefined : `SKIPPED: ${CHROMIUM} not found (install Debian's chromium to run the browser tests)`;
if (skipReason) console.warn(skipReason);

const MARGAUX: WineSpec = { name: "Château Margaux", answers: ["Red", "France", "Cabernet Sauvignon", "2015"] };
const HINT = "Guests' phones cannot open this address";

describe.skipIf(skipReason !== undefined)(skipReason ?? "Sommelier Arena's join link on a local network", { timeout: 60_000 }, () => {
  let browser: Browser;
  let webDir: string;
  const dataDirs: string[] = [];
  /** Listens on 0.0.0.0: the config lists network origins. */
  let lanServer: ServerProcess;
  /** Listens on 127.0.0.1 only, like the default `npm start`. */
  let loopbackServer: ServerProcess;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];

  const port = (server: ServerProcess) => new URL(server.url).port;

  async function page(options = TV): Promise<Page> {
    const context = await newContext(browser, options, problems);
    contexts.push(context);
    return context.newPage();
  }

  function start(host: string): Promise<ServerProcess> {
    const dataDir = tempDataDir();
    dataDirs.push(dataDir);
    return startArenaProcess({ port: 0, dataDir, webDir, host });
  }

  beforeAll(async () => {
    webDir = buildWeb();
    [browser, lanServer, loopbackServer] = await Promise.all([launchChromium(), start("0.0.0.0"), start("127.0.0.1")]);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    expect(problems).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([lanServer?.kill("SIGKILL"), loopbackServer?.kill("SIGKILL")]);
    for (const dir of [...dataDirs, webDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives guests the network address from a localhost page, and a phone joins through it", async (ctx) => {
    const base = `http://localhost:${port(lanServer)}`;
    const config = (await (await fetch(`http://127.0.0.1:${port(lanServer)}/api/config`)).json()) as ServerConfig;
    expect(config.minTimerSeconds).toBe(5);
    // A machine with no network interface but loopback has nothing to offer phones.
    if (config.lanOrigins.length === 0) return ctx.skip();
    const lan = config.lanOrigins[0]!;
    expect(new URL(lan).hostname).not.toMatch(/^(localhost|127\.|\[::1\])/);

    const host = await page(TV);
    const code = await createTasting(host, base, "Laptop reds", [MARGAUX], {
      // The editor's slider goes down to the server's own minimum (5 s in the fixture, not 15).
      beforeCreate: () => expect.poll(() => host.getByRole("slider", { name: /Time per question/ }).getAttribute("min")).toBe("5"),
    });

    const link = `${lan}/join/${code}`;
    await host.locator(".lobby-link").getByText(link, { exact: true }).waitFor();
    const qr = host.getByRole("img", { name: `QR code for the join link ${link}` });
    await qr.waitFor();
    expect(await qr.getAttribute("data-link")).toBe(link);
    expect(await host.getByText(HINT).count()).toBe(0);

    const phone = await page(PHONE);
    await joinAs(phone, lan, code, "Ana");
    await host.getByRole("list", { name: "Guests" }).getByText("Ana", { exact: true }).waitFor();
    await phone.getByTestId("connection").getByText("Live").waitFor();
  });

  it("keeps the localhost link and says why phones cannot open it when the server listens on loopback only", async () => {
    const base = `http://localhost:${port(loopbackServer)}`;
    const config = (await (await fetch(`http://127.0.0.1:${port(loopbackServer)}/api/config`)).json()) as ServerConfig;
    expect(config.lanOrigins).toEqual([]);

    const host = await page(TV);
    const code = await createTasting(host, base, "Loopback reds", [MARGAUX]);
    const link = `${base}/join/${code}`;
    await host.locator(".lobby-link").getByText(link, { exact: true }).waitFor();
    await host.getByRole("img", { name: `QR code for the join link ${link}` }).waitFor();
    const hint = host.getByTestId("lan-hint");
    await hint.getByText(HINT).waitFor();
    expect(await hint.textContent()).toContain("HOST=0.0.0.0 npm start");
  });

  it("says Connecting… until the first connection opens", async () => {
    const base = `http://127.0.0.1:${port(loopbackServer)}`;
    const host = await page(TV);
    // The room's WebSocket opens but the server never answers: the page never was connected.
    await host.routeWebSocket(/\/rooms\//, () => {});
    await host.goto(`${base}/host/1234`);
    await host.getByTestId("connection").getByText("Connecting…", { exact: true }).waitFor();
  });
});
