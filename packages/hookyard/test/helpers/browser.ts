import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { onTestFinished } from "vitest";

/** Debian's Chromium (apt-get install -y chromium); never a downloaded browser. */
export const CHROMIUM = process.env["HOOKYARD_TEST_CHROMIUM"] ?? "/usr/bin/chromium";

/**
 * Why the browser tests cannot run here, or null. Under CI=true a missing browser fails the
 * run instead (.ci/run installs it).
 */
export function browserUnavailable(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const reason = `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`;
  if (process.env["CI"] === "true") throw new Error(`browser tests must run under CI: ${reason}`);
  process.stderr.write(`skipping the browser tests: ${reason}\n`);
  return reason;
}

let shared: Promise<Browser> | null = null;

/** One headless Chromium per test file. */
export function browser(): Promise<Browser> {
  shared ??= chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  return shared;
}

export async function closeBrowser(): Promise<void> {
  if (shared !== null) await (await shared).close();
  shared = null;
}

/**
 * A fresh page (its own context: no storage shared between tests) that records script errors
 * and dialogs, closed when the test ends.
 */
export async function newPage(
  viewport = { width: 1280, height: 860 },
  colorScheme: "light" | "dark" = "light",
): Promise<{ page: Page; errors: string[]; dialogs: string[] }> {
  const context = await (await browser()).newContext({ viewport, colorScheme });
  onTestFinished(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return { page, errors, dialogs };
}

/**
 * Screenshots go to test-results/screenshots (ignored by git), for a person to look at, or to
 * HOOKYARD_SCREENSHOTS_DIR: `npm run screenshots` writes the README's into docs/screenshots.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir =
    process.env["HOOKYARD_SCREENSHOTS_DIR"] ??
    fileURLToPath(new URL("../../test-results/screenshots/", import.meta.url));
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
