import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "cellar/testing";
import { vault } from "../fixtures/inspector-rooms.js";

/*
 * The inspector's page (served by the Node host itself, no build step) in Debian's Chromium:
 * log in with the token, find a room, watch its state change without a reload.
 */

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];
const skipReason = existsSync(CHROMIUM) ? undefined : `SKIPPED: ${CHROMIUM} not found (install Debian's chromium to run the browser tests)`;
if (skipReason) console.warn(skipReason);

const TOKEN = "inspector-token-0123456789-abcdefghij";
/** An instance id that would run script if the page put it into HTML. */
const HOSTILE_ID = `<img src=x onerror="window.pwned=1">`;

describe.skipIf(skipReason !== undefined)(skipReason ?? "the inspector's page (Chromium)", () => {
  let browser: Browser;
  let t: TestServer;
  let context: BrowserContext | undefined;
  /** Console errors and CSP violations: the page must cause none. */
  const problems: string[] = [];

  beforeAll(async () => {
    [browser, t] = await Promise.all([chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }), startTestServer({ rooms: [vault], inspector: { token: TOKEN } })]);
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function openInspector(): Promise<Page> {
    context = await browser.newContext();
    const page = await context.newPage();
    page.on("console", (message) => {
      // Refused requests (the 401 of a wrong token, a missing favicon) are expected; a CSP violation or a script error is not.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(`${t.url}/_cellar/inspector`);
    expect(page.url()).toBe(`${t.url}/_cellar/inspector/`);
    return page;
  }

  it("logs in with the token, lists a room, and shows its state changing without a reload", async () => {
    const client = await t.connect("vault", "main", { params: { user: "ana" } });
    expect(await client.request("setup")).toBe(true);
    const hostile = await t.connect("vault", HOSTILE_ID, { params: { user: "eve" } });
    expect(await hostile.request("setup")).toBe(true);

    const page = await openInspector();
    await expect.poll(() => page.isVisible("#login")).toBe(true);
    await page.fill("#token", "not the token");
    await page.click("#login-button");
    await expect.poll(() => page.textContent("#login-error")).toBe("Wrong token.");
    await page.fill("#token", TOKEN);
    await page.click("#login-button");

    // The list: both instances, the hostile id shown as text.
    await expect.poll(() => page.locator("#instances a").allTextContents()).toEqual(expect.arrayContaining(["main", HOSTILE_ID]));
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator("#instances img").count()).toBe(0);
    // The login is an HttpOnly cookie: the page's scripts cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe("");
    const cookie = (await context!.cookies(`${t.url}/_cellar/inspector/`)).find((c) => c.name === "cellar_inspector");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/_cellar/inspector" });

    await page.click("#instances a >> text=main");
    await expect.poll(() => page.textContent("#detail-title")).toBe("vault / main");
    await expect.poll(() => page.textContent("#state")).toContain(`"count": 0`);
    expect(await page.textContent("#summary")).toContain("live");
    await expect.poll(() => page.textContent("#live")).toBe("live");
    await page.evaluate(() => void ((window as { sameDocument?: boolean }).sameDocument = true));

    // A client changes the room's state: the page shows it, with no reload.
    expect(await client.request("increment")).toBe(1);
    await expect.poll(() => page.textContent("#state"), { timeout: 5000 }).toContain(`"count": 1`);

    // Hibernated, it is still shown (and not woken); the next event wakes it and the page follows.
    expect(t.server.hibernate("vault", "main")).toBe(1);
    await expect.poll(() => page.textContent("#summary"), { timeout: 5000 }).toContain("hibernated");
    expect(t.server.stats().rooms.live).toBe(1); // the other instance only
    expect(await client.request("increment")).toBe(2);
    await expect.poll(() => page.textContent("#state"), { timeout: 5000 }).toContain(`"count": 2`);
    expect(await page.textContent("#summary")).toContain("live");
    expect(await page.evaluate(() => (window as { sameDocument?: boolean }).sameDocument)).toBe(true);

    // SQL rows and the log head are there too; secrets are not.
    expect(await page.textContent("#sql")).toContain("first note");
    expect(await page.textContent("#log")).toContain("count");
    expect(await page.textContent("body")).not.toMatch(/rejoinToken|hostKeyHash|password_hash/);

    await page.click("#logout");
    await expect.poll(() => page.isVisible("#login")).toBe(true);
    expect(problems).toEqual([]);
  });
});
