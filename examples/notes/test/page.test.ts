import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "cellar/testing";
import { servePage } from "../src/node-page.js";
import { notes } from "../src/room.js";

/* The page as a visitor uses it, in Debian's Chromium driven by Playwright. */

const CHROMIUM = "/usr/bin/chromium";
const skipReason = existsSync(CHROMIUM) ? undefined : `SKIPPED: ${CHROMIUM} not found (install Debian's chromium to run the page test)`;
if (skipReason) console.warn(skipReason);

describe.skipIf(skipReason !== undefined)(skipReason ?? "notes example: the page in a browser", () => {
  let browser: Browser;
  let t: TestServer | undefined;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"] });
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("connects, chats, restyles, keeps notes and refuses an overdraft, and shows it all again after a reload", async () => {
    t = await startTestServer({ rooms: [notes], http: servePage() });
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(t.url);
    await page.fill("#user", "ana");
    await page.click("#login button");
    await page.locator("#status", { hasText: "connected" }).waitFor();

    await page.fill("#text", "hello from the page");
    await page.click("#say button");
    await page.locator("#log li", { hasText: "ana: hello from the page" }).waitFor();

    await page.selectOption("#mode", "dark");
    await page.waitForFunction(() => document.documentElement.dataset.mode === "dark");

    await page.fill("#note-id", "todo");
    await page.fill("#note-text", "buy milk");
    await page.click("#note button");
    await page.locator("#notes li", { hasText: "todo: buy milk" }).waitFor();

    await page.fill("#transfer-amount", "10");
    await page.fill("#recipient", "bo");
    await page.click("#transfer button");
    await page.locator("#error", { hasText: "INSUFFICIENT_FUNDS" }).waitFor();
    await page.click("#deposit button");
    await page.locator("#balance", { hasText: "100" }).waitFor();

    // A reload reconnects as the remembered user and gets everything back from the room.
    await page.reload();
    await page.locator("#status", { hasText: "connected" }).waitFor();
    await page.locator("#profile", { hasText: "ana: 1 messages sent" }).waitFor();
    await page.locator("#log li", { hasText: "ana: hello from the page" }).waitFor();
    await page.locator("#notes li", { hasText: "todo: buy milk" }).waitFor();
    await page.locator("#balance", { hasText: "100" }).waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.mode)).toBe("dark");
    expect(errors).toEqual([]);
    await context.close();
  });
});
