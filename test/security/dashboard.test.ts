import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { startTestBridge } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT = { timeout: 15_000 };

let context: BrowserContext | undefined;
/** The browser's profile: removed after the browser closes, not after the first test (temp.ts). */
let profile: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (as .ci/run does), or set CHROMIUM_PATH`);
  profile = await mkdtemp(join(tmpdir(), 'tapebridge-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

/** Names the dashboard must not show: refused by the SDK, or able to pass for another name. */
const HIDDEN = ['', 'A'.repeat(129), 'EUR,USD', '\u202EDSUUAX', 'XAU\u200BUSD', ' XAUUSD', 'XAU\nUSD'];
/** Shown, as text: markup in a name is never parsed. */
const MARKUP = '<img src=x onerror="window.__xss=1">';

/**
 * The bridge publishes only names its SDK accepts, so a digest naming hostile symbols is
 * served to the page in the bridge's place (the page, its modules and the SDK are the real
 * bridge's): the dashboard must stand on its own against a digest it did not expect.
 */
async function pageWithDigest(url: string, hash: string): Promise<{ page: Page; problems: string[] }> {
  const page = await context!.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  const time = Date.now();
  const symbols = ['XAUUSD', MARKUP, ...HIDDEN].map((symbol) => ({ symbol, seq: 1, updatedAt: time, bid: 1, ask: 2 }));
  const summary = {
    type: 'summary',
    epoch: 'e1',
    time,
    intervalMs: 60_000,
    staleAfterMs: 60_000,
    health: { status: 'HEALTHY', counts: { HEALTHY: 4, DEGRADED: 0, UNHEALTHY: 0 } },
    symbols,
  };
  await page.route('**/v1/dashboard/sse*', (route) =>
    route.fulfill({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      body: `retry: 60000\n\nevent: summary\ndata: ${JSON.stringify(summary)}\n\n`,
    }),
  );
  await page.goto(`${url}/${hash}`);
  return { page, problems };
}

const shownRows = (page: Page) =>
  page.locator('#symbols tbody tr').evaluateAll((rows: { getAttribute(name: string): string | null }[]) => rows.map((row) => row.getAttribute('data-symbol')));

describe('the dashboard against hostile symbol names', () => {
  it('shows names as text, hides the ones that could pass for others, and survives a malformed #hash', async () => {
    const dir = await tempDir();
    await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 1, ask: 2 }, 'rewrite');
    const bridge = await startTestBridge([dir]);

    for (const hash of ['#%E0%A4%A', '#%', `#${encodeURIComponent('\u202EDSUUAX')}`, `#${encodeURIComponent(MARKUP)}`]) {
      const { page, problems } = await pageWithDigest(bridge.url, hash);
      await expect.poll(() => shownRows(page), WAIT).toEqual([MARKUP, 'XAUUSD'].sort());
      expect(await page.locator(`#symbols tr[data-symbol="XAUUSD"] td.symbol`).textContent()).toBe('XAUUSD');
      const markupCell = page.locator('#symbols tbody tr td.symbol').filter({ hasText: 'onerror' });
      expect(await markupCell.textContent()).toBe(MARKUP);
      expect(await page.locator('#symbols img, .detail img').count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
      // A hash naming a hidden or undecodable symbol selects the first shown one instead.
      // (the digest's first row, XAUUSD); one naming a shown symbol selects it.
      expect(await page.locator('#detail-symbol').textContent()).toBe(hash === `#${encodeURIComponent(MARKUP)}` ? MARKUP : 'XAUUSD');
      // Health without components (a non-admin token): the counts.
      await expect.poll(() => page.locator('#components').textContent(), WAIT).toBe('HEALTHY 4 · DEGRADED 0 · UNHEALTHY 0');
      expect(problems).toEqual([]);
      await page.close();
    }
  });
});
