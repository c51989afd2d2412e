/**
 * Writes docs/dashboard.png and docs/dashboard-phone.png: the dashboard of the demo (the
 * simulator's files, as `npm start` shows them) in Debian's Chromium, at desktop and phone
 * width. Needs a build (dist/client, served to the page).
 *
 *   npm run docs:screenshots      (CHROMIUM_PATH picks another Chromium)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { startBridge } from '../src/app/bridge.js';
import { resolveConfig } from '../src/app/config.js';
import { createLogger } from '../src/core/logger.js';
import { startSimulator } from '../src/sim/simulator.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SYMBOL = 'ESZ25_FUT_CME';

const dir = await mkdtemp(join(tmpdir(), 'tapebridge-screenshots-'));
const simulator = await startSimulator({ dir });
const bridge = await startBridge(resolveConfig({ port: 0, sources: [{ path: dir }] }), { logger: createLogger('silent') });
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  await shoot(await browser.newPage({ viewport: { width: 1280, height: 900 } }), 'docs/dashboard.png', true);
  await shoot(await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true }), 'docs/dashboard-phone.png', false);
} finally {
  await browser.close();
  await bridge.close();
  await simulator.close();
  await rm(dir, { recursive: true, force: true });
}

/** Opens the dashboard on the chart of SYMBOL's M5 bars, waits for every panel to fill, and writes `path`. */
async function shoot(page: Page, path: string, fullPage: boolean): Promise<void> {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.stack ?? error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  await page.goto(`${bridge.url}/#/${SYMBOL}/M5`);
  try {
    await ready(page);
  } catch (error) {
    throw new Error(`${(error as Error).message}; the page said: ${problems.join('; ')}`);
  }
  await page.screenshot({ path, fullPage });
  if (problems.length > 0) throw new Error(`the page failed: ${problems.join('; ')}`);
  await page.close();
}

async function ready(page: Page): Promise<void> {
  await page.locator('#symbols tbody tr').nth(4).waitFor();
  // Page-side code as text: this project's TypeScript knows no DOM.
  await page.waitForFunction('(globalThis.tapebridge?.chart?.data().length ?? 0) > 20');
  await page.locator('#sources tbody tr').nth(6).waitFor();
  await page.locator('#book tbody tr').first().waitFor();
  // A few latency samples (one per poll), so that its chart has a line.
  await page.locator('#latency-note', { hasText: 'p50' }).waitFor();
  await page.waitForTimeout(6000);
}
