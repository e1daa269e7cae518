/**
 * Helpers for the browser tests: the web app built once into a temporary folder, the arena
 * server in a child process (so a test can SIGKILL and restart it on the same port and data),
 * Debian's Chromium through playwright-core, and the steps a host or a guest takes in the UI.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from "playwright-core";
import { startServerProcess, type ServerProcess } from "cellar/testing";

export const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];

const appDir = fileURLToPath(new URL("../../", import.meta.url));
export const SCREENSHOTS = join(appDir, "test-results", "screenshots");

export const TV: BrowserContextOptions = { viewport: { width: 1920, height: 1080 }, acceptDownloads: true };
export const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** Builds the web app with Vite into a fresh folder (the repo's dist/web is left alone). */
export function buildWeb(): string {
  const outDir = mkdtempSync(join(tmpdir(), "arena-web-"));
  const vite = join(dirname(createRequire(import.meta.url).resolve("vite/package.json")), "bin/vite.js");
  execFileSync(process.execPath, [vite, "build", "--config", join(appDir, "web/vite.config.ts"), "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"], {
    cwd: appDir,
    // Vitest sets NODE_ENV=test, which would bundle React's development build.
    env: { ...process.env, NODE_ENV: "production" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (!existsSync(join(outDir, "index.html"))) throw new Error(`The web build wrote no index.html into ${outDir}`);
  return outDir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer().once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** `host`: the interface to listen on (default loopback only; "0.0.0.0" for every one). */
export function startArenaProcess(options: { port: number; dataDir: string; webDir: string; host?: string }): Promise<ServerProcess> {
  return startServerProcess({
    script: fileURLToPath(new URL("../fixtures/arena-server.ts", import.meta.url)),
    // HOST always set: the child inherits this process's environment, which may have its own.
    env: { DATA_DIR: options.dataDir, PORT: String(options.port), HOST: options.host ?? "127.0.0.1", WEB_DIR: options.webDir, MIN_TIMER_SECONDS: "5", HOST_GRACE_MS: "600000", LOG_LEVEL: "warn" },
    execArgv: ["--conditions=source", "--import", "tsx"],
  });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A context whose pages fail the test on a dialog (an injected `alert` would open one) or an uncaught error. */
export async function newContext(browser: Browser, options: BrowserContextOptions, problems: string[]): Promise<BrowserContext> {
  const context = await browser.newContext({ reducedMotion: "no-preference", ...options });
  context.setDefaultTimeout(15_000);
  context.on("page", (page) => watch(page, problems));
  return context;
}

function watch(page: Page, problems: string[]): void {
  page.on("dialog", (dialog) => {
    problems.push(`dialog: ${dialog.type()} ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), animations: "disabled", fullPage: true });
}

export interface WineSpec {
  name: string;
  /** Correct answers for colour, country, grape variety, vintage (the wine's name is the fifth). */
  answers: [string, string, string, string];
}

const CATEGORY_NAMES = ["colour", "country", "grape variety", "vintage", "wine"];

/**
 * Creates a tasting in the editor, from the dashboard: title, wines, distractors by
 * Auto-fill. Returns the code of the host's live session page it lands on.
 */
export async function createTasting(page: Page, base: string, title: string, wines: WineSpec[], options: { beforeCreate?: () => Promise<void> } = {}): Promise<string> {
  await page.goto(`${base}/host`);
  await page.getByRole("link", { name: "New tasting" }).click();
  await page.getByRole("textbox", { name: "Title" }).fill(title);
  for (const [w, wine] of wines.entries()) {
    if (w > 0) await page.getByRole("button", { name: "Add a wine" }).click();
    await fillWine(page, w + 1, wine);
  }
  await options.beforeCreate?.();
  await page.getByRole("button", { name: "Create tasting" }).click();
  await page.waitForURL(/\/host\/\d{4}$/);
  await page.getByTestId("session-code").waitFor();
  return new URL(page.url()).pathname.split("/").pop()!;
}

/** In the editor: fills the open wine `number` (from 1) and its wrong answers by Auto-fill. */
export async function fillWine(page: Page, number: number, wine: WineSpec): Promise<void> {
  const label = `Wine ${number}`;
  await page.getByRole("textbox", { name: `${label}: name` }).fill(wine.name);
  for (const [q, answer] of wine.answers.entries()) {
    await page.getByRole("combobox", { name: `${label} ${CATEGORY_NAMES[q]}: correct answer` }).fill(answer);
  }
  await page.getByRole("button", { name: `Auto-fill all wrong answers of ${label}` }).click();
}

/** A guest joins from the QR link, typing a pseudonym, and lands in the lobby. */
export async function joinAs(page: Page, base: string, code: string, pseudonym: string): Promise<void> {
  await page.goto(`${base}/join/${code}`);
  await page.getByRole("textbox", { name: "Your name for the game" }).fill(pseudonym);
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.waitForURL(`${base}/play/${code}`);
  await page.getByRole("heading", { name: `You're in, ${pseudonym}` }).waitFor();
}

/** The answer button whose option text is `text` ("B: Red"). */
export function answerButton(page: Page, text: string) {
  return page.getByRole("button", { name: new RegExp(`^[A-D]: ${escapeRegExp(text)}$`) });
}

/** Chooses an answer by tapping it and waits until the server acknowledged it. */
export async function answer(page: Page, text: string): Promise<void> {
  const button = answerButton(page, text);
  await button.click();
  await page.locator(".answer[aria-pressed='true']", { hasText: text }).getByText("Your answer").waitFor();
}

/** Chooses an option other than `correct` (the distractors are random); returns its text. */
export async function answerWrong(page: Page, correct: string): Promise<string> {
  await page.locator(".answer").first().waitFor();
  const texts = await page.locator(".answer .answer-text").allTextContents();
  const wrong = texts.find((t) => t !== correct)!;
  await answer(page, wrong);
  return wrong;
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The host's "x / y answered" line reaches `text`. */
export async function answered(page: Page, text: string): Promise<void> {
  await page.getByTestId("answered").getByText(text, { exact: true }).waitFor();
}

/** Host: reveals the open question and waits for the distribution. */
export async function reveal(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Reveal answer" }).click();
  await page.getByRole("list", { name: "Answers per option" }).waitFor();
}

/** Host: from a reveal to the next question (or the standings after a wine's fifth). */
export async function next(page: Page, label: "Next question" | "Show standings" | "Next wine" | "Final results"): Promise<void> {
  await page.getByRole("button", { name: label }).click();
}
