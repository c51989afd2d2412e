import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bridge } from '../../src/app/bridge.js';
import { CHECKPOINT_FILE } from '../../src/app/checkpoint.js';
import { DepthCommand } from '../../src/formats/depth.js';
import { DepthWriter, endBatch, snapshotBatch } from '../../src/sim/depth-writer.js';
import { ScidWriter, scidTickRecord, type ScidRecord } from '../../src/sim/scid-writer.js';
import { BridgeProcess } from '../soak/bridge-process.js';
import { LogCapture, startTestBridge } from '../helpers/bridge.js';
import { getJson } from '../helpers/clients.js';
import { freePort } from '../helpers/ports.js';
import { FAST_BRIDGE } from '../helpers/sdk.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * The checkpoint (journal.persistDir/checkpoint.json): a start goes on reading each file from
 * where the last checkpoint left it, when it is still that file, and reads only what was
 * written since; the documents come out as a start that reads every file whole makes them.
 */

const T0 = Date.UTC(2026, 10, 20, 14);
const DEPTH_FILE = 'ESZ25_FUT_CME.2026-11-20.depth';
const NQ_FILE = 'NQZ25_FUT_CME.scid';
const SYMBOLS = [...TerminalFiles.symbols, 'NQZ25_FUT_CME'];

/** The terminal files, a `.depth` book of ESZ25 and a second `.scid`, written as terminals write them (partial records included). */
class Folder {
  readonly files: TerminalFiles;
  readonly depth: DepthWriter;
  readonly nq: ScidWriter;
  #round = 0;

  constructor(readonly dir: string) {
    this.files = new TerminalFiles(dir);
    this.depth = new DepthWriter(join(dir, DEPTH_FILE));
    this.nq = new ScidWriter(join(dir, NQ_FILE));
  }

  static async create(): Promise<Folder> {
    const folder = new Folder(await tempDir());
    await folder.files.create(200);
    await folder.depth.create(snapshotBatch(T0, { bids: [[6000, 5, 1]], asks: [[6000.25, 4, 1]] }));
    await folder.nq.create([scidTickRecord({ time: T0, bid: 21000, ask: 21000.25, last: 21000, size: 1 })]);
    return folder;
  }

  async step(): Promise<void> {
    const round = ++this.#round;
    await this.files.step();
    const time = T0 + round * 1000;
    await this.depth.append(
      endBatch([{ time, command: DepthCommand.MODIFY_BID, price: 6000 - (round % 3) * 0.25, quantity: round, orders: 1 }]),
      round % 2 ? 5 : 0,
    );
    const tick = scidTickRecord({ time, bid: 21000 + round, ask: 21000.25 + round, last: 21000 + round, size: round });
    // Every fourth round the last record is a forming bar, rewritten once in place before a
    // trade split into sub-trades follows it: the decoder's carry across a checkpoint.
    if (round % 4 === 0) await this.nq.append([this.#bar(time, round)]);
    else if (round % 4 === 1 && round > 1) {
      await this.nq.rewriteLast(this.#bar(time - 1000, round + 1));
      await this.nq.appendPartial(
        [
          { ...tick, open: 'first-sub-trade' },
          { ...tick, time: time + 0.001, open: 'last-sub-trade' },
        ],
        11,
      );
    } else await this.nq.appendPartial([tick], round % 2 ? 11 : 0);
  }

  #bar(time: number, volume: number): ScidRecord {
    return { time, open: 21000, high: 21000 + volume, low: 20999, close: 21000 + volume / 2, trades: 3, volume, bidVolume: 1, askVolume: volume - 1 };
  }

  /** The sizes of the files read by offset (the JSON snapshot is read whole at every start). */
  async tailSizes(): Promise<number> {
    const paths = [this.files.scid.path, this.files.mt5.path, this.depth.path, this.nq.path];
    const sizes = await Promise.all(
      paths.map((path) =>
        stat(path).then(
          (found) => found.size,
          () => 0,
        ),
      ),
    );
    return sizes.reduce((sum, size) => sum + size, 0);
  }

  async jsonSize(): Promise<number> {
    return (await stat(this.files.jsonPath)).size;
  }
}

/** Indicators short enough to have values over a few minutes of ticks. */
const INDICATORS = { document: { indicators: { M1: ['ema2', 'sma3', 'rsi2', 'atr2', 'bb3', 'vwap'] } } };

const persisted = (state: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...FAST_BRIDGE,
  ...INDICATORS,
  journal: { persistDir: state, checkpointMs: 100 },
  ...overrides,
});

/** Waits for the bridge to have committed everything the files hold (no commit for 150 ms). */
async function quiet(bridge: Bridge): Promise<void> {
  await waitFor('the bridge to be quiet', async () => {
    const gseq = bridge.store.gseq;
    await sleep(150);
    return gseq === bridge.store.gseq;
  });
}

function documents(bridge: Bridge, symbols = SYMBOLS): Record<string, unknown> {
  return Object.fromEntries(symbols.map((symbol) => [symbol, JSON.parse(bridge.store.get(symbol)?.documentJson() ?? 'null')]));
}

/** What a bridge that reads every file whole (no persisted state) makes of the folder, and the bytes it reads. */
async function fullRead(
  dir: string,
  symbols = SYMBOLS,
  overrides: Record<string, unknown> = {},
): Promise<{ documents: Record<string, unknown>; bytes: number }> {
  const bridge = await startTestBridge([dir], { ...FAST_BRIDGE, ...INDICATORS, ...overrides });
  await quiet(bridge);
  const read = { documents: documents(bridge, symbols), bytes: bytesRead(await stats(bridge.url)) };
  await bridge.close();
  return read;
}

interface Stats {
  sources: { folders: { bytesRead: number }[] };
  checkpoint: { files: { resumed: number; reread: number }; last: { files: number; bytes: number } | null };
}

async function stats(url: string): Promise<Stats> {
  return (await getJson<Stats>(`${url}/v1/stats`)).body;
}

const bytesRead = (found: Stats): number => found.sources.folders.reduce((sum, folder) => sum + folder.bytesRead, 0);

describe('the checkpoint', () => {
  it('a clean restart reads only the bytes written meanwhile, and its documents are those of a full read, indicators included', async () => {
    const folder = await Folder.create();
    const state = await tempDir();
    const first = await startTestBridge([folder.dir], persisted(state));
    for (let i = 0; i < 3; i++) await folder.step();
    await quiet(first);
    const before = await folder.tailSizes();
    await first.close();
    expect(JSON.parse(await readFile(join(state, CHECKPOINT_FILE), 'utf8'))).toMatchObject({ format: 'tapebridge-checkpoint', version: 1 });

    await folder.step();
    await folder.step();
    const logs = new LogCapture('info');
    const second = await startTestBridge([folder.dir], persisted(state), logs);
    await quiet(second);
    const found = await stats(second.url);
    expect(found.checkpoint.files).toEqual({ resumed: 4, reread: 0 });
    expect(bytesRead(found)).toBe((await folder.tailSizes()) - before + (await folder.jsonSize()));
    expect(second.store.epoch).toBe(first.store.epoch);
    expect(logs.find((line) => line.event === 'checkpoint_loaded')).toMatchObject({ files: 4 });

    const whole = await fullRead(folder.dir);
    expect(documents(second)).toEqual(whole.documents);
    expect(bytesRead(found)).toBeLessThan(whole.bytes / 4);
    const es = whole.documents.ESZ25_FUT_CME as { indicators?: { M1?: object }; book?: object };
    expect(Object.keys(es.indicators?.M1 ?? {})).toEqual(expect.arrayContaining(['ema2', 'rsi2', 'bb3']));
    expect(es.book).toBeDefined();
  });

  it('tells a file that changed while the bridge was down, and reads that one from its start', async () => {
    const folder = await Folder.create();
    const state = await tempDir();
    const first = await startTestBridge([folder.dir], persisted(state));
    for (let i = 0; i < 3; i++) await folder.step();
    await quiet(first);
    const nqBefore = documents(first, ['NQZ25_FUT_CME']);
    await first.close();

    // Truncated and written again (Sierra Chart re-downloads the data).
    await folder.files.rewriteScid();
    // Replaced by rename: the same bytes and more, in a new file (a new inode).
    const mt5 = folder.files.mt5.path;
    await writeFile(`${mt5}.new`, await readFile(mt5));
    await rename(`${mt5}.new`, mt5);
    // The same size, but the last record's bytes differ (rewritten in place).
    const depth = await readFile(folder.depth.path);
    const size = depth.length;
    depth[size - 12] = (depth[size - 12] ?? 0) ^ 0x40;
    await writeFile(folder.depth.path, depth);
    // Deleted while the bridge was down.
    await rm(folder.nq.path);

    const logs = new LogCapture('info');
    const second = await startTestBridge([folder.dir], persisted(state), logs);
    await quiet(second);
    expect((await stats(second.url)).checkpoint.files).toEqual({ resumed: 0, reread: 3 });
    const reasons = logs.lines.filter((line) => line.event === 'checkpoint_file_reread').map((line) => [String(line.file).split('/').pop(), line.reason]);
    expect(reasons).toHaveLength(3);
    expect(Object.fromEntries(reasons)).toEqual({
      'ESZ25_FUT_CME.scid': expect.stringMatching(/^shorter \(\d+ bytes\) than where reading stood \(\d+\)$/),
      [mt5.split('/').pop() as string]: 'another file (device or inode) at this path',
      [DEPTH_FILE]: 'the bytes before where reading stood changed',
    });
    const present = SYMBOLS.filter((symbol) => symbol !== 'NQZ25_FUT_CME');
    expect(documents(second, present)).toEqual((await fullRead(folder.dir, present)).documents);
    // The symbol of the file that went keeps its last state.
    expect(documents(second, ['NQZ25_FUT_CME'])).toEqual(nqBefore);
  });

  it('refuses a checkpoint that is corrupt, cut short, of another version or of other windows, whole, with one warning, and reads every file', async () => {
    const tamper: { name: string; code: string; overrides?: Record<string, unknown>; change: (text: string) => string }[] = [
      { name: 'corrupt', code: 'STATE_FOREIGN', change: () => 'not json at all' },
      { name: 'cut short', code: 'STATE_FOREIGN', change: (text) => text.slice(0, text.length >> 1) },
      { name: 'another version', code: 'STATE_FOREIGN', change: (text) => text.replace('"version":1', '"version":2') },
      { name: 'a wrong part', code: 'STATE_INCONSISTENT', change: (text) => text.replace(/"position":\d+/, '"position":-5') },
      { name: 'other bar windows', code: 'STATE_FOREIGN', overrides: { document: { bars: { M1: 50 } } }, change: (text) => text },
    ];
    for (const { name, code, overrides = {}, change } of tamper) {
      const folder = await Folder.create();
      const state = await tempDir();
      const first = await startTestBridge([folder.dir], persisted(state));
      await folder.step();
      await quiet(first);
      await first.close();
      const path = join(state, CHECKPOINT_FILE);
      await writeFile(path, change(await readFile(path, 'utf8')));

      const logs = new LogCapture('info');
      const second = await startTestBridge([folder.dir], persisted(state, overrides), logs);
      await quiet(second);
      const refused = logs.lines.filter((line) => line.event === 'checkpoint_refused');
      expect(refused, name).toHaveLength(1);
      expect(refused[0], name).toMatchObject({ level: 40, code });
      const found = await stats(second.url);
      expect(found.checkpoint.files, name).toEqual({ resumed: 0, reread: 0 });
      const whole = await fullRead(folder.dir, SYMBOLS, overrides);
      expect(bytesRead(found), name).toBe(whole.bytes);
      expect(documents(second), name).toEqual(whole.documents);
      await second.close();
    }
  });

  it('the real process: after SIGTERM it keeps the epoch, after SIGKILL it goes on from the last periodic checkpoint in a new epoch', async () => {
    const folder = await Folder.create();
    const state = await tempDir();
    const port = await freePort();
    const configPath = join(await tempDir(), 'bridge.json');
    await writeFile(
      configPath,
      JSON.stringify({ port, log: { level: 'info' }, ...INDICATORS, sources: [{ path: folder.dir }], journal: { persistDir: state, checkpointMs: 100 } }),
    );
    const bridge = new BridgeProcess(configPath, port);
    const epochOf = async (): Promise<string> => (await getJson<{ symbols: { epoch: string }[] }>(`${bridge.url}/v1/symbols`)).body.symbols[0]?.epoch ?? '';
    /** The process has committed what the files hold, and the last checkpoint was taken after that. */
    const settled = async (): Promise<void> => {
      let previous = -1;
      await waitFor('the bridge to be quiet and checkpointed', async () => {
        const { state: now, checkpoint } = (await getJson<{ state: { gseq: number }; checkpoint: { last: { gseq: number } | null } }>(`${bridge.url}/v1/stats`))
          .body;
        const settledNow = now.gseq === previous && checkpoint.last?.gseq === now.gseq;
        previous = now.gseq;
        await sleep(200);
        return settledNow;
      });
    };
    try {
      await bridge.start();
      await folder.step();
      await folder.step();
      await settled();
      const firstEpoch = await epochOf();
      expect(await bridge.stop('SIGTERM')).toBe(0);

      await folder.step();
      await folder.step();
      await bridge.start();
      let found = await stats(bridge.url);
      expect(found.checkpoint.files).toEqual({ resumed: 4, reread: 0 });
      expect(await epochOf()).toBe(firstEpoch);
      // Written while it runs: read live, then checkpointed.
      await settled();
      await folder.step();
      await folder.step();
      await settled();
      const before = await folder.tailSizes();
      expect(await bridge.stop('SIGKILL')).toBeNull();

      await folder.step();
      await folder.step();
      await bridge.start();
      found = await stats(bridge.url);
      expect(found.checkpoint.files).toEqual({ resumed: 4, reread: 0 });
      expect(bytesRead(found)).toBe((await folder.tailSizes()) - before + (await folder.jsonSize()));
      expect(await epochOf()).not.toBe(firstEpoch);
      const whole = await fullRead(folder.dir);
      for (const symbol of SYMBOLS) {
        const served = await getJson<{ data: unknown }>(`${bridge.url}/v1/symbols/${symbol}`);
        expect(served.body.data, symbol).toEqual(whole.documents[symbol]);
      }
      expect(bridge.trouble.errorLines).toEqual([]);
      expect(bridge.trouble.crashes).toEqual([]);
    } finally {
      await bridge.stop('SIGKILL');
    }
  });
});
