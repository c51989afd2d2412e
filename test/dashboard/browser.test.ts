import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import type { TapeClient } from '../../src/client/index.js';
import { startTestBridge } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
/** Fast summaries and heartbeats, so that staleness and reconnection show within seconds. */
const BRIDGE = { dashboard: { intervalMs: 200, staleAfterMs: 1500 }, stream: { heartbeatMs: 500 } };
const SYMBOLS = ['ESZ25_FUT_CME', 'EURUSD', 'GBPUSD', 'NQZ25_FUT_CME', 'XAUUSD'];
const WAIT = { timeout: 15_000 };

let context: BrowserContext | undefined;
/** The browser's profile: it lives as long as the browser (tempDir() folders go after each test, while Chromium still writes here). */
let profile: string | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (as .ci/run does), or set CHROMIUM_PATH`);
  await mkdir(ARTIFACTS, { recursive: true });
  profile = await mkdtemp(join(tmpdir(), 'tapebridge-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true, maxRetries: 5 });
});

const cell = (page: Page, symbol: string, column: string) => page.locator(`#symbols tr[data-symbol="${symbol}"] td.${column}`);

describe('the dashboard in a real browser', () => {
  it('shows live rows, the selected symbol through the SDK, staleness, a lost bridge and its recovery', async () => {
    const dir = await tempDir();
    let simulator: Simulator = await startSimulator({ dir, updatesPerSecond: 10, historyMinutes: 30 });
    const first = await startTestBridge([dir], BRIDGE);
    const page = context!.pages()[0] ?? (await context!.newPage());
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    // The page runs under its Content-Security-Policy: anything it refuses is a problem.
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) problems.push(message.text());
    });
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));

    try {
      await page.goto(`${first.url}/?token=t0k#/XAUUSD/M5`);
      await expect
        .poll(
          () =>
            page
              .locator('#symbols tbody tr')
              .evaluateAll((rows: { getAttribute(name: string): string | null }[]) => rows.map((row) => row.getAttribute('data-symbol'))),
          WAIT,
        )
        .toEqual(SYMBOLS);
      await expect.poll(() => page.locator('#connection').getAttribute('data-state'), WAIT).toBe('live');
      await expect.poll(() => page.locator('#health').textContent(), WAIT).toBe('health: HEALTHY');
      // The token was read, then taken out of the address bar (the hash stays).
      expect(page.url()).toBe(`${first.url}/#/XAUUSD/M5`);
      expect(await page.evaluate('location.search')).toBe('');

      // Values change as the simulator writes.
      const before = await cell(page, 'ESZ25_FUT_CME', 'bid').textContent();
      expect(before).toMatch(/^\d+(\.\d+)?$/);
      await expect
        .poll(
          async () =>
            (await cell(page, 'ESZ25_FUT_CME', 'bid').textContent()) !== before || (await cell(page, 'ESZ25_FUT_CME', 'last').textContent()) !== before,
          WAIT,
        )
        .toBe(true);
      await expect.poll(() => cell(page, 'EURUSD', 'rate').textContent(), WAIT).toMatch(/^\d+\.\d$/);

      // The selected symbol comes through the SDK over WebSocket, with its book; the token went along.
      await expect.poll(() => page.locator('#detail-state').textContent(), WAIT).toBe('live over WebSocket');
      await expect.poll(() => page.locator('#book tbody tr.bid').count(), WAIT).toBe(5);
      expect(await page.locator('#book tbody tr.ask').count()).toBe(5);
      expect(sockets.some((url) => url.endsWith('/v1/ws?token=t0k'))).toBe(true);

      await cell(page, 'ESZ25_FUT_CME', 'symbol').click();
      await expect.poll(() => page.locator('#detail-symbol').textContent(), WAIT).toBe('ESZ25_FUT_CME');
      await expect.poll(() => page.evaluate<number>('globalThis.tapebridge.chart.data().length'), WAIT).toBeGreaterThan(5);
      // The simulator writes ESZ25_FUT_CME's market depth too (.depth): its book is shown.
      await expect.poll(() => page.locator('#book tbody tr').count(), WAIT).toBeGreaterThan(0);
      expect(await page.locator('#no-book').isVisible()).toBe(false);
      expect(await page.locator('#symbols tr[data-symbol="ESZ25_FUT_CME"]').getAttribute('aria-selected')).toBe('true');
      await expect.poll(() => page.url(), WAIT).toMatch(/#\/ESZ25_FUT_CME\/M5$/);
      await page.screenshot({ path: `${ARTIFACTS}dashboard.png` });

      // The files stop changing: every row turns stale while the connection stays live.
      await simulator.close();
      await expect.poll(() => page.locator('#symbols tbody tr.stale').count(), WAIT).toBe(5);
      expect(await page.locator('#connection').getAttribute('data-state')).toBe('live');

      // The bridge stops: the page says the connection is lost.
      const epoch = first.store.epoch;
      await first.close();
      await expect.poll(() => page.locator('#connection').getAttribute('data-state'), WAIT).toBe('disconnected');
      await expect.poll(() => page.locator('#banner').textContent(), WAIT).toMatch(/Connection to the bridge lost/);
      expect(await page.locator('#banner').isVisible()).toBe(true);
      await expect.poll(() => page.locator('#detail-state').getAttribute('data-state'), WAIT).toBe('reconnecting');
      await page.screenshot({ path: `${ARTIFACTS}dashboard-disconnected.png` });

      // It comes back (a new epoch): live again, fresh rows, the SDK resynced.
      simulator = await startSimulator({ dir, updatesPerSecond: 10, historyMinutes: 30, seed: 2 });
      const second = await startTestBridge([dir], { ...BRIDGE, port: first.port });
      await expect.poll(() => page.locator('#connection').getAttribute('data-state'), WAIT).toBe('live');
      await expect.poll(() => page.locator('#epoch').textContent(), WAIT).toBe(`epoch ${second.store.epoch}`);
      expect(second.store.epoch).not.toBe(epoch);
      await expect.poll(() => page.locator('#banner').textContent(), WAIT).toMatch(/restarted|is back/);
      await expect.poll(() => page.locator('#symbols tbody tr.stale').count(), WAIT).toBe(0);
      await expect.poll(() => page.locator('#detail-state').textContent(), WAIT).toMatch(/^live over /);
      await expect.poll(() => page.locator('#quote dt:text-is("epoch") + dd').textContent(), WAIT).toBe(second.store.epoch);
      expect(problems).toEqual([]);
    } finally {
      await simulator.close();
    }
  });
});

/** A candle as the chart holds it (lightweight-charts' series.data()). */
interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

const chartState = (page: Page): Promise<{ timeframe: string; candles: Candle[]; setData: number; updates: number }> =>
  page.evaluate(`(() => {
    const chart = globalThis.tapebridge.chart;
    return { timeframe: chart.timeframe, candles: chart.data().map(({ time, open, high, low, close }) => ({ time, open, high, low, close })), ...chart.stats };
  })()`);

describe('the chart, book ladder and sources panel of the dashboard', () => {
  it('draws the candles of the document live, switches timeframe, shows the best bid and ask, lists every file and the problem of a bad one', async () => {
    const dir = await tempDir();
    const simulator = await startSimulator({ dir, updatesPerSecond: 10, historyMinutes: 60 });
    const bridge = await startTestBridge([dir], BRIDGE);
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    /** The document's last bar of `timeframe`, as a candle. */
    const lastBar = (symbol: string, timeframe: 'M1' | 'M5'): Candle | undefined => {
      const bar = bridge.store.get(symbol)?.document.bars[timeframe]?.at(-1);
      return bar && { time: bar.t / 1000, open: bar.o, high: bar.h, low: bar.l, close: bar.c };
    };
    try {
      await page.goto(`${bridge.url}/#/ESZ25_FUT_CME/M5`);
      // The chart's last candle is the document's last M5 bar (both read at each try: the simulator keeps writing).
      await expect
        .poll(async () => {
          const { timeframe, candles } = await chartState(page);
          return timeframe === 'M5' && candles.length > 5 && isDeepStrictEqual(candles.at(-1), lastBar('ESZ25_FUT_CME', 'M5'));
        }, WAIT)
        .toBe(true);
      const m5 = await chartState(page);
      expect(m5.candles.every((candle) => candle.time % 300 === 0)).toBe(true);
      // Live: the forming bar moves through update(), with no redraw.
      await expect.poll(async () => (await chartState(page)).updates, WAIT).toBeGreaterThan(m5.updates + 3);
      expect((await chartState(page)).setData).toBe(m5.setData);

      // Another timeframe: the series is M1's, and the address says so.
      await page.locator('#timeframes button[value="M1"]').click();
      await expect
        .poll(async () => {
          const { timeframe, candles } = await chartState(page);
          return timeframe === 'M1' && candles.length > m5.candles.length && isDeepStrictEqual(candles.at(-1), lastBar('ESZ25_FUT_CME', 'M1'));
        }, WAIT)
        .toBe(true);
      expect((await chartState(page)).candles.some((candle) => candle.time % 300 !== 0)).toBe(true);
      await expect.poll(() => page.url(), WAIT).toMatch(/#\/ESZ25_FUT_CME\/M1$/);
      expect(await page.locator('#timeframes button[aria-pressed="true"]').textContent()).toBe('M1');

      // The search box and the keyboard: `/` focuses it, arrows move through the rows shown, Enter selects.
      await page.keyboard.press('/');
      await page.keyboard.type('usd');
      await expect.poll(() => page.locator('#symbols tbody tr:visible').count(), WAIT).toBe(3);
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#detail-symbol').textContent(), WAIT).toBe('GBPUSD');
      await page.locator('#search').fill('xau');
      await page.locator('#search').press('Enter');
      await expect.poll(() => page.locator('#detail-symbol').textContent(), WAIT).toBe('XAUUSD');
      await expect.poll(() => page.url(), WAIT).toMatch(/#\/XAUUSD\/M5$/);

      // The ladder: asks above, bids below, the best of each beside the spread; they are the document's.
      const ladder = async (): Promise<[string | null, string | null]> => [
        await page.locator('#book tbody tr.bid').first().getAttribute('data-price'),
        await page.locator('#book tbody tr.ask').last().getAttribute('data-price'),
      ];
      await expect
        .poll(async () => {
          const book = bridge.store.get('XAUUSD')?.document.book;
          return isDeepStrictEqual(await ladder(), [String(book?.bids[0]?.[0]), String(book?.asks[0]?.[0])]);
        }, WAIT)
        .toBe(true);
      expect(await page.locator('#book tbody tr.spread').count()).toBe(1);

      // The sources panel: one row per file in the folder.
      const shown = (): Promise<string[]> =>
        page
          .locator('#sources tbody tr')
          .evaluateAll((rows: { getAttribute(name: string): string | null }[]) => rows.map((row) => row.getAttribute('data-file') ?? ''));
      const present = async (): Promise<string[]> => (await readdir(dir)).filter((name) => !name.endsWith('.tmp')).sort();
      await expect.poll(async () => isDeepStrictEqual(await shown(), await present()), WAIT).toBe(true);
      expect(await page.locator('#sources tr[data-file="ESZ25_FUT_CME.scid"] td.symbols').textContent()).toBe('ESZ25_FUT_CME');
      expect(await page.locator('#sources tr[data-file="ESZ25_FUT_CME.scid"] td.breaker').textContent()).toBe('CLOSED');
      // A bad file shows its problem, with where it was found; the filter finds it.
      await writeFile(join(dir, 'BROKEN.scid'), 'not a Sierra Chart file, '.repeat(8));
      await expect.poll(() => page.locator('#sources tr[data-file="BROKEN.scid"] td.problem').textContent(), WAIT).toMatch(/\(at byte \d+, /);
      await page.locator('#sources-filter').fill('broken');
      await expect.poll(() => shown(), WAIT).toEqual(['BROKEN.scid']);

      // Health in human units, and the latency chart from /v1/stats.
      await expect.poll(() => page.locator('#components li[data-component="memory"] .details').textContent(), WAIT).toMatch(/rss [\d.]+ MB/);
      await expect.poll(() => page.locator('#latency-note').textContent(), WAIT).toMatch(/p50 [\d.]+ m?s · p99 [\d.]+ m?s/);
      await page.screenshot({ path: `${ARTIFACTS}dashboard-chart.png`, fullPage: true });

      // At phone width the panels stack: the chart below the table, the ladder below the chart, nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 844 });
      await expect.poll(() => page.locator('#symbols th.rate').isVisible(), WAIT).toBe(false);
      const box = async (selector: string): Promise<{ x: number; y: number; width: number; height: number }> =>
        (await page.locator(selector).boundingBox()) ?? { x: 0, y: 0, width: 0, height: 0 };
      const [symbols, detail, book] = [await box('section.symbols'), await box('section.detail'), await box('section.book')];
      expect(detail.y).toBeGreaterThanOrEqual(symbols.y + symbols.height);
      expect(book.y).toBeGreaterThanOrEqual(detail.y + detail.height);
      expect(detail.x + detail.width).toBeLessThanOrEqual(390);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
      await simulator.close();
    }
  });
});

describe('the dashboard for a token that sees some symbols', () => {
  it('shows only those symbols, their files, and no latency', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const token = 'fx-token-0123456789abcdef';
    const bridge = await startTestBridge([dir], { ...BRIDGE, auth: { tokens: [{ name: 'fx', token, symbols: ['EUR*'] }] } });
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    try {
      await page.goto(`${bridge.url}/?token=${token}#/EURUSD/M1`);
      const rows = (selector: string, attribute: string): Promise<(string | null)[]> =>
        page
          .locator(selector)
          .evaluateAll((nodes: { getAttribute(name: string): string | null }[], name) => nodes.map((node) => node.getAttribute(name)), attribute);
      await expect.poll(() => rows('#symbols tbody tr', 'data-symbol'), WAIT).toEqual(['EURUSD']);
      await expect.poll(async () => (await rows('#sources tbody tr', 'data-file')).length, WAIT).toBeGreaterThan(0);
      const symbols = await page.locator('#sources tbody td.symbols').allTextContents();
      expect(symbols.every((text) => text === 'EURUSD')).toBe(true);
      await expect.poll(() => page.evaluate<number>('globalThis.tapebridge.chart.data().length'), WAIT).toBeGreaterThan(0);
      await expect.poll(() => page.locator('#latency-note').textContent(), WAIT).toMatch(/needs an admin token/);
      expect(await page.locator('#components li').textContent()).toMatch(/HEALTHY \d/);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

/** What a page-side client reports back to the test. */
interface PageClientState {
  transport: string | undefined;
  documents: Record<string, { version: unknown; document: unknown }>;
}

describe('the client SDK in a real browser', () => {
  it('converges over WebSocket, SSE and long polling alike', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir], BRIDGE);
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${bridge.url}/`);
    const kinds = ['ws', 'sse', 'poll'] as const;
    // Page-side code as text: the test runner would rewrite a dynamic import in a function.
    // The page's import map resolves the SDK's dependencies for this import too.
    await page.evaluate(`(async () => {
      const { connect } = await import('/client/index.js');
      globalThis.clients = {};
      for (const kind of ${JSON.stringify(kinds)}) {
        globalThis.clients[kind] = connect(location.origin, { transports: [kind], poll: { waitMs: 1000 } });
        globalThis.clients[kind].subscribe(['*']);
      }
    })()`);
    for (let round = 0; round < 5; round++) await files.step();

    const state = (kind: string): Promise<PageClientState> =>
      page.evaluate((kind) => {
        const client = (globalThis as unknown as { clients: Record<string, TapeClient> }).clients[kind] as TapeClient;
        const documents: PageClientState['documents'] = {};
        for (const symbol of ['ESZ25_FUT_CME', 'EURUSD', 'XAUUSD']) documents[symbol] = { version: client.version(symbol), document: client.get(symbol) };
        return { transport: client.transport, documents };
      }, kind);
    const expected = (): PageClientState['documents'] =>
      Object.fromEntries(
        TerminalFiles.symbols.map((symbol) => {
          const held = bridge.store.get(symbol);
          return [symbol, { version: { epoch: bridge.store.epoch, seq: held?.seq }, document: JSON.parse(held?.documentJson() ?? 'null') }];
        }),
      );
    for (const kind of kinds) {
      // Both sides are read at each try: the bridge may still commit a trailing read.
      await expect.poll(async () => isDeepStrictEqual((await state(kind)).documents, expected()), WAIT).toBe(true);
      expect((await state(kind)).transport).toBe(kind);
    }
    await page.evaluate(() =>
      Promise.all(Object.values((globalThis as unknown as { clients: Record<string, TapeClient> }).clients).map((client) => client.close())),
    );
    expect(problems).toEqual([]);
    await page.close();
  });
});
