import { spawn } from 'node:child_process';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/app/config.js';
import { symbolNameProblem } from '../../src/model/symbol-name.js';
import { FileIngest } from '../../src/state/ingest.js';
import { Store } from '../../src/state/store.js';
import { LogCapture, startTestBridge } from '../helpers/bridge.js';
import { getJson } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { BridgeProcess } from '../soak/bridge-process.js';
import { freePort } from '../helpers/ports.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const processes: BridgeProcess[] = [];

afterEach(async () => {
  await Promise.all(processes.splice(0).map((bridge) => bridge.stop('SIGTERM')));
});

/** A bridge process (`node dist/cli.js --config FILE`) watching `dir`. */
async function bridgeProcess(dir: string, extra: Record<string, unknown> = {}): Promise<BridgeProcess> {
  const port = await freePort();
  const configPath = join(dir, '..', `${port}.config.json`);
  await writeFile(configPath, JSON.stringify({ port, sources: [{ path: dir }], ...extra }));
  const bridge = new BridgeProcess(configPath, port);
  processes.push(bridge);
  await bridge.start();
  return bridge;
}

/** Runs the CLI with a config file; resolves with its exit code and everything it printed. */
function runCli(configPath: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--config', configPath, '--config-dir', '/nonexistent'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

const line = (record: Record<string, unknown>): string => `${JSON.stringify(record)}\n`;
const deep = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

interface Doc {
  quote?: { bid?: number; time?: number };
  fields?: Record<string, unknown>;
}

/** The document the bridge process serves for `symbol` (undefined before it has one). */
async function served(url: string, symbol: string): Promise<Doc | undefined> {
  const { status, body } = await getJson<{ data: Doc }>(`${url}/v1/symbols/${encodeURIComponent(symbol)}`);
  return status === 200 ? body.data : undefined;
}

describe("a poisoned record is that record's problem", () => {
  it('an NDJSON line nested 30,000 deep is skipped with its offset; the lines before, after and appended later are read (real process)', async () => {
    const dir = await tempDir();
    const now = Date.now();
    const first = line({ symbol: 'GOOD', bid: 1, time: now - 2000 });
    // 30,000 levels in 60 KB: under the 64 KiB line limit.
    const poison = `{"symbol":"GOOD","bid":2,"time":${now - 1500},"x":${'['.repeat(30_000)}${']'.repeat(30_000)}}\n`;
    expect(poison.length).toBeLessThan(64 * 1024);
    await writeFile(join(dir, 'feed.ndjson'), first + poison + line({ symbol: 'GOOD', bid: 3, time: now - 1000 }));
    const bridge = await bridgeProcess(dir);
    const read = await waitFor('the line after the poisoned one', async () => {
      const doc = await served(bridge.url, 'GOOD');
      return doc?.quote?.bid === 3 ? doc : undefined;
    });
    expect(read.quote?.bid).toBe(3);
    await appendFile(join(dir, 'feed.ndjson'), line({ symbol: 'GOOD', bid: 4, time: now }));
    await waitFor('a line appended later', async () => (await served(bridge.url, 'GOOD'))?.quote?.bid === 4);
    const warning = [...bridge.warnings.keys()].find((msg) => /nested deeper than 32 levels|could not be decoded/.test(msg));
    expect(warning).toBeDefined();
    // The warning describes the line; it does not quote it.
    expect(warning).not.toContain('[[');
    expect(bridge.trouble.errorLines).toEqual([]);
    expect(bridge.trouble.crashes).toEqual([]);
  });

  it('an exception a decoder raises on one record is reported at that record (a throwing sink stands for any bug)', async () => {
    const dir = await tempDir();
    const logs = new LogCapture('warn');
    const now = Date.now();
    await writeFile(
      join(dir, 'feed.ndjson'),
      line({ symbol: 'A', bid: 1, time: now - 1000 }) + '['.repeat(5000) + ']'.repeat(5000) + '\n' + line({ symbol: 'A', bid: 2, time: now }),
    );
    const bridge = await startTestBridge([dir], {}, logs);
    await waitFor('the good lines', () => bridge.store.get('A')?.document.quote.bid === 2);
    const warning = logs.find((entry) => entry.msg === 'expected a JSON object, found an array; line skipped');
    expect(warning?.offset).toBe(line({ symbol: 'A', bid: 1, time: now - 1000 }).length);
  });

  it('a JSON map nested too deep keeps its last good state and is reported once', async () => {
    const dir = await tempDir();
    const logs = new LogCapture('warn');
    const path = join(dir, 'quotes.json');
    await writeFile(path, JSON.stringify({ EURUSD: { bid: 1.1, ask: 1.2 }, GBPUSD: { bid: 1.3, ask: 1.4 } }));
    const bridge = await startTestBridge([dir], {}, logs);
    await waitFor('the map', () => bridge.store.get('GBPUSD')?.document.quote.bid === 1.3);
    await writeFile(path, `{"EURUSD": {"bid": 1.5, "ask": 1.6}, "GBPUSD": {"bid": 9, "ask": 9, "x": ${deep(20_000)}}}`);
    await waitFor('the other entry of the map', () => bridge.store.get('EURUSD')?.document.quote.bid === 1.5);
    await waitFor('the warning', () => logs.find((entry) => typeof entry.msg === 'string' && entry.msg.includes('nested deeper than 32 levels')));
    expect(bridge.store.get('GBPUSD')?.document.quote.bid).toBe(1.3);
  });
});

describe('times far from the clock', () => {
  it('a record stamped in 2100 is refused with one warning per read naming the offset; the real updates go on (real process)', async () => {
    const dir = await tempDir();
    const now = Date.now();
    const path = join(dir, 'feed.ndjson');
    await writeFile(path, line({ symbol: 'FX', bid: 1, time: now - 1000 }));
    const bridge = await bridgeProcess(dir);
    await waitFor('the first quote', async () => (await served(bridge.url, 'FX'))?.quote?.bid === 1);
    const future = Date.UTC(2100, 0, 1);
    await appendFile(path, line({ symbol: 'FX', bid: 99, time: future }) + line({ symbol: 'FX', bid: 98, time: future + 1 }));
    await appendFile(path, line({ symbol: 'FX', bid: 2, time: Date.now() }));
    const doc = await waitFor('the real update', async () => {
      const current = await served(bridge.url, 'FX');
      return current?.quote?.bid === 2 ? current : undefined;
    });
    expect(doc.quote?.time).toBeLessThan(future);
    const warnings = [...bridge.warnings.entries()].filter(([msg]) => msg.includes('ahead of the clock refused'));
    expect(warnings.length).toBeGreaterThan(0);
    // One warning per read, with a count, not one per record.
    expect(warnings.reduce((sum, [, count]) => sum + count, 0)).toBeLessThanOrEqual(2);
    const { body } = await getJson<{ components: Record<string, { status: string; refused: Record<string, number> }> }>(`${bridge.url}/health`);
    if (body.components.data) expect(body.components.data.refused.future).toBe(2);
  });

  it('history read at start may be old; a record appended much older than the newest is refused', async () => {
    const dir = await tempDir();
    const logs = new LogCapture('warn');
    const path = join(dir, 'feed.ndjson');
    const old = Date.UTC(2011, 5, 1);
    await writeFile(path, line({ symbol: 'OLD', bid: 1, time: old }) + line({ symbol: 'OLD', bid: 2, time: old + 60_000 }));
    const bridge = await startTestBridge([dir], {}, logs);
    await waitFor('the history', () => bridge.store.get('OLD')?.document.quote.bid === 2);
    await appendFile(path, line({ symbol: 'OLD', bid: 3, time: old - 7 * 86_400_000 }) + line({ symbol: 'OLD', bid: 4, time: old + 120_000 }));
    await waitFor('the record in order', () => bridge.store.get('OLD')?.document.quote.bid === 4);
    const warning = logs.find((entry) => typeof entry.msg === 'string' && entry.msg.includes('older than the newest this file gave refused'));
    expect(warning?.offset).toBe((line({ symbol: 'OLD', bid: 1, time: old }) + line({ symbol: 'OLD', bid: 2, time: old + 60_000 })).length);
    expect(bridge.store.guard.refused.past.value).toBe(1);
  });
});

describe('symbols one file may create', () => {
  it('a JSON map of 5,000 symbols feeds document.maxSymbolsPerFile of them, with one warning; /health is DEGRADED and /metrics counts', async () => {
    const dir = await tempDir();
    const logs = new LogCapture('warn');
    const map = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`S${i}`, { bid: i, ask: i + 1 }]));
    await writeFile(join(dir, 'map.json'), JSON.stringify(map));
    const bridge = await startTestBridge([dir], { document: { maxSymbolsPerFile: 100 } }, logs);
    await waitFor('the symbols', () => bridge.store.symbolCount > 0);
    expect(bridge.store.symbolCount).toBe(100);
    const warnings = logs.lines.filter((entry) => typeof entry.msg === 'string' && entry.msg.includes('document.maxSymbolsPerFile'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.file).toBe(join(dir, 'map.json'));
    const { body } = await getJson<{ components: Record<string, { status: string; symbols: number; maxSymbolsPerFile: number }> }>(`${bridge.url}/health`);
    expect(body.components.data).toMatchObject({ status: 'DEGRADED', symbols: 100, maxSymbolsPerFile: 100 });
    const metrics = await fetch(`${bridge.url}/metrics`).then((response) => response.text());
    expect(metrics).toMatch(/tapebridge_data_refused_total\{reason="symbolsPerFile"\} 4900/);
    expect(metrics).toMatch(/tapebridge_symbols_held 100/);
  });

  it('document.maxSymbols bounds the symbols of all files together', async () => {
    const dir = await tempDir();
    for (const file of ['a', 'b', 'c']) {
      const map = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`${file}${i}`, { bid: i, ask: i + 1 }]));
      await writeFile(join(dir, `${file}.json`), JSON.stringify(map));
    }
    const bridge = await startTestBridge([dir], { document: { maxSymbols: 100 } });
    await waitFor('every file read', () => bridge.store.guard.refused.symbols.value > 0);
    expect(bridge.store.symbolCount).toBe(100);
  });
});

describe('journal bytes', () => {
  /** A store fed by one file ingest, as the watcher feeds it. */
  function fed(journalBytes: { perSymbol: number; total: number }) {
    const store = new Store({ journalSize: 1000, epoch: 'j', journalBytes });
    const ingest = new FileIngest(store, { key: '/f', source: 'ndjson', barBasis: 'auto', windows: {}, onProblem: () => undefined });
    const write = (symbol: string, blob: string): void => {
      ingest.begin(false);
      ingest.fields(symbol, { blob });
      ingest.finish();
    };
    return { store, write };
  }

  it('a 200 KB field rewritten 50 times is held within journal.maxBytesPerSymbol; a resume from before gets a snapshot', () => {
    const { store, write } = fed({ perSymbol: 1_000_000, total: 100_000_000 });
    for (let i = 0; i < 50; i++) write('BIG', String(i % 10).repeat(200_000));
    const journal = store.get('BIG')?.journal;
    expect(journal?.bytes).toBeLessThanOrEqual(1_000_000);
    expect(journal?.size).toBeGreaterThan(0);
    // The first versions are no longer held: a client there is sent a snapshot (since() is null).
    expect(journal?.since(1)).toBeNull();
    expect(journal?.since((store.get('BIG')?.seq ?? 0) - 1)).toHaveLength(1);
  });

  it('journal.maxBytes bounds all symbols together, dropping the oldest patches of all', () => {
    const { store, write } = fed({ perSymbol: 1_000_000, total: 2_000_000 });
    for (let i = 0; i < 60; i++) write(`S${i % 6}`, String(i % 10).repeat(100_000));
    expect(store.journalTotals().bytes).toBeLessThanOrEqual(2_000_000);
    // The newest patch of every symbol is still there.
    for (let s = 0; s < 6; s++) expect(store.get(`S${s}`)?.journal.size).toBeGreaterThan(0);
  });
});

describe('hostile symbol names', () => {
  it.each([
    ['', /1 to 128 characters/],
    ['x'.repeat(129), /1 to 128 characters/],
    ['EUR,USD', /U\+002C/],
    ['EUR\u202EDSU', /U\+202E/],
    ['EUR\u200BUSD', /U\+200B/],
    ['EUR\nUSD', /U\+000A/],
    ['EUR\u00A0USD', /U\+00A0/],
    [' EURUSD', /start or end with a space/],
    ['e\u0301', /NFC/],
  ])('refuses %j', (name, reason) => {
    expect(symbolNameProblem(name)).toMatch(reason);
  });

  it.each(['EURUSD', 'ESZ6.CME', 'BTC/USD', 'US 30', '#AAPL', 'DAX40_M1', 'café'])('accepts %j', (name) => {
    expect(symbolNameProblem(name)).toBeNull();
  });

  it('a file with hostile names publishes only the valid ones, with one warning for the file', async () => {
    const dir = await tempDir();
    const logs = new LogCapture('warn');
    const now = Date.now();
    const names = ['', 'A\u202EB', 'x'.repeat(200), 'C,D', 'GOOD'];
    await writeFile(join(dir, 'feed.ndjson'), names.map((symbol, i) => line({ symbol, bid: i + 1, time: now - 1000 + i })).join(''));
    const bridge = await startTestBridge([dir], {}, logs);
    await waitFor('the valid name', () => bridge.store.get('GOOD'));
    // An empty name in an NDJSON line means the file's own symbol (feed): the other three are refused.
    expect([...bridge.store.symbols()].map((state) => state.symbol).sort()).toEqual(['GOOD', 'feed']);
    const warnings = logs.lines.filter((entry) => typeof entry.msg === 'string' && entry.msg.startsWith('symbol name refused'));
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.msg)).not.toContain('\u202E');
    expect(bridge.store.guard.refused.symbolName.value).toBe(3);
  });
});

describe('config bounds and secrets', () => {
  it('a duration above 2^31-1 ms is refused naming the key', () => {
    expect(() => resolveConfig({ stream: { heartbeatMs: 2 ** 31 } })).toThrow(/stream\.heartbeatMs: 2147483648 is not allowed/);
    expect(() => resolveConfig({ watch: { maxFutureMs: 30 * 86_400_000 } })).toThrow(/watch\.maxFutureMs/);
    for (const key of ['maxConnections', 'messagesPerSecond']) {
      expect(() => resolveConfig({ stream: { [key]: 1e12 } })).toThrow(new RegExp(`stream\\.${key}: 1000000000000 is not allowed`));
    }
    expect(() => resolveConfig({ notify: { queueSize: 1e9 } })).toThrow(ConfigError);
    expect(() => resolveConfig({ journal: { maxBytes: 2 ** 50 } })).toThrow(/journal\.maxBytes/);
  });

  it('the CLI refuses such a duration in one clear line and exits 1', async () => {
    const dir = await tempDir();
    const configPath = join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify({ port: 0, stream: { heartbeatMs: 3_000_000_000 } }));
    const { code, output } = await runCli(configPath);
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toMatch(/^tapebridge: invalid configuration: stream\.heartbeatMs: 3000000000 is not allowed/);
  });

  it('a misspelled key next to a secret never prints the secret (real CLI)', async () => {
    const dir = await tempDir();
    const secret = 's3cr3t-value-that-must-not-leak';
    const configPath = join(dir, 'config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        port: 0,
        auth: {
          tokens: [
            { name: 'ops', tokne: secret },
            { name: 'two', token: 'short-secret' },
          ],
        },
        notify: { webhookHeaders: { Authorization: 7 } },
      }),
    );
    const { code, output } = await runCli(configPath);
    expect(code).toBe(1);
    expect(output).toContain('auth.tokens.0.tokne');
    expect(output).not.toContain(secret);
    expect(output).not.toContain('short-secret');
    await writeFile(configPath, `{"port": 0, "auth": {"tokens": [{"name": "x", "token": "${secret}"}]}`);
    const broken = await runCli(configPath);
    expect(broken.code).toBe(1);
    expect(broken.output).not.toContain(secret);
  });
});
