/**
 * What derived data costs per tick, for one symbol with the default configuration (M1, M5,
 * M15 and H1 windows of 200/100/50/24 bars; RSI, EMA, ATR and MACD on M5 and M15, RSI, EMA
 * and ATR on H1):
 *
 * - updating all its indicators: ours (SymbolIndicators, O(1) per indicator from the closed
 *   bars' state) against recomputing each indicator over its window (the batch functions the
 *   on-demand route uses), on the same sequence of windows;
 * - the whole commit of a tick (candles of every window, composition, indicators, diff,
 *   journal): default windows with indicators, the same without, and the former default
 *   (M1 only);
 * - the bytes of the patch of a tick, in the same three configurations;
 * - the first read of a .scid holding the history the H1 window needs (24 h, capped at
 *   watch.maxBackfillBytes), in the same three configurations.
 *
 * Figures are medians of interleaved runs (every subject once per round).
 *
 *   npx tsx bench/indicators.ts [--quick] [--runs 5]
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { barClock } from '../src/derive/bar-clock.js';
import { seriesOf } from '../src/derive/indicators/catalog.js';
import { IndicatorPlan, SymbolIndicators } from '../src/derive/indicators/deriver.js';
import { priceDecimalsOf, roundValue } from '../src/derive/indicators/rounding.js';
import { ChunkedDecoder } from '../src/formats/chunked-decoder.js';
import { SCID_HEADER_SIZE, scidFormat } from '../src/formats/scid.js';
import { DEFAULT_CONFIG } from '../src/app/config.js';
import { Contribution } from '../src/state/contribution.js';
import type { BarWindows, WindowSizes } from '../src/model/document.js';
import { FileIngest } from '../src/state/ingest.js';
import { Store } from '../src/state/store.js';
import { RandomMarket, type MarketTick } from '../src/sim/random.js';
import { encodeScidRecords, scidHeader, scidTickRecord } from '../src/sim/scid-writer.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, runs: { type: 'string' } } });
const quick = values.quick;
const runs = Number(values.runs ?? (quick ? 3 : 7));
const TICKS = quick ? 5_000 : 20_000;
/** History before the measured ticks: the H1 window's 24 hours. */
const HISTORY_MS = 24 * 3_600_000;
const TICK_MS = 2_000;
const STARTUP_BYTES = quick ? 16 * 2 ** 20 : DEFAULT_CONFIG.watch.maxBackfillBytes;

const windows: WindowSizes = DEFAULT_CONFIG.document.bars;
const plan = new IndicatorPlan(DEFAULT_CONFIG.document.indicators);
const sessions = barClock('D1');

function ticks(count: number, start: number, spacing: number, seed = 3): MarketTick[] {
  const market = new RandomMarket({ start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed });
  return Array.from({ length: count }, (_, i) => market.next(start + i * spacing));
}

const START = Date.UTC(2026, 10, 19, 14);
const history = ticks(HISTORY_MS / TICK_MS, START, TICK_MS);
const live = ticks(TICKS, START + HISTORY_MS, TICK_MS, 4);

/** The windows after each live tick, as a commit sees them (published bars shared between versions). */
function windowSequence(): BarWindows[] {
  const contribution = new Contribution('sierra-scid', 'trade', windows);
  for (const tick of history) contribution.applyTick(tick);
  const sequence = [contribution.seal().bars];
  for (const tick of live) {
    contribution.applyTick(tick);
    sequence.push(contribution.seal().bars);
  }
  return sequence;
}

const sequence = windowSequence();
const specs = plan.timeframes.flatMap((timeframe) => plan.specs(timeframe).map((spec) => ({ timeframe, spec })));

type Run = () => number;

/** One pass over the live windows: returns a checksum so that nothing is optimised away. */
const incremental: Run = () => {
  const deriver = new SymbolIndicators(plan);
  deriver.update(sequence[0] as BarWindows);
  let checksum = 0;
  for (let i = 1; i < sequence.length; i++) checksum += Object.keys(deriver.update(sequence[i] as BarWindows) ?? {}).length;
  return checksum;
};

const batch: Run = () => {
  let checksum = 0;
  for (let i = 1; i < sequence.length; i++) {
    const bars = sequence[i] as BarWindows;
    for (const { timeframe, spec } of specs) {
      const window = bars[timeframe];
      if (!window) continue;
      const value = seriesOf(spec, window, sessions).at(-1);
      if (value !== undefined) checksum += typeof roundValue(spec, value, priceDecimalsOf(window)) === 'number' ? 1 : 3;
    }
  }
  return checksum;
};

/** Commits tick after tick, as a live file read tick by tick does; records the patch bytes. */
function commits(config: { windows: WindowSizes; plan: IndicatorPlan }, patchBytes?: number[]): Run {
  return () => {
    const store = new Store({ journalSize: 100, epoch: 'bench', indicators: config.plan });
    const ingest = new FileIngest(store, { key: 'ES.scid', source: 'sierra-scid', barBasis: 'trade', windows: config.windows, onProblem: () => undefined });
    ingest.begin(true);
    for (const tick of history) ingest.tick('ES', tick);
    ingest.finish();
    const state = store.get('ES');
    if (patchBytes) store.onCommit((event) => patchBytes.push(event.entry?.opsJson.length ?? 0));
    for (const tick of live) {
      ingest.begin(false);
      ingest.tick('ES', tick);
      ingest.finish();
    }
    return state?.seq ?? 0;
  };
}

const configurations = {
  defaultWithIndicators: { windows, plan },
  defaultWithoutIndicators: { windows, plan: IndicatorPlan.NONE },
  m1Only: { windows: { M1: 200 } as WindowSizes, plan: IndicatorPlan.NONE },
};

/** A .scid file of 24 hours of trades and quotes, `bytes` long (the newest data, as a capped backfill reads it). */
function startupFile(bytes: number): Buffer {
  const count = Math.floor((bytes - SCID_HEADER_SIZE) / 40);
  const spacing = HISTORY_MS / count;
  const records = ticks(count, START, spacing, 5).map(scidTickRecord);
  return Buffer.concat([scidHeader(), encodeScidRecords(records)]);
}

function startup(file: Buffer, config: { windows: WindowSizes; plan: IndicatorPlan }): Run {
  return () => {
    const store = new Store({ journalSize: 100, epoch: 'bench', indicators: config.plan });
    const ingest = new FileIngest(store, { key: 'ES.scid', source: 'sierra-scid', barBasis: 'trade', windows: config.windows, onProblem: () => undefined });
    const chunks = new ChunkedDecoder(scidFormat.createDecoder({ fileName: 'ES.scid', symbol: 'ES' }), SCID_HEADER_SIZE);
    ingest.begin(true);
    for (let at = SCID_HEADER_SIZE; at < file.length; at = chunks.position) chunks.feed(file.subarray(at, Math.min(file.length, at + 2 ** 20)), ingest);
    return ingest.finish();
  };
}

/** Times each subject `runs` times, interleaved round by round; the median of each, in ms. */
function measure<Name extends string>(subjects: Record<Name, Run>): Record<Name, number> {
  for (const run of Object.values<Run>(subjects)) run(); // warm-up (JIT)
  const times = new Map<Name, number[]>();
  for (let round = 0; round < runs; round++) {
    for (const [name, run] of Object.entries(subjects) as [Name, Run][]) {
      const start = performance.now();
      run();
      times.set(name, [...(times.get(name) ?? []), performance.now() - start]);
    }
  }
  const medians = {} as Record<Name, number>;
  for (const [name, list] of times) medians[name] = list.sort((a, b) => a - b)[Math.floor(list.length / 2)] as number;
  return medians;
}

const perTickMicros = (ms: number): number => Number(((ms * 1000) / TICKS).toFixed(2));
const percentile = (list: number[], q: number): number => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(q * list.length))] as number;

const indicatorTimes = measure({ incremental, batch });
const commitTimes = measure({
  defaultWithIndicators: commits(configurations.defaultWithIndicators),
  defaultWithoutIndicators: commits(configurations.defaultWithoutIndicators),
  m1Only: commits(configurations.m1Only),
});
const patchBytes = Object.fromEntries(
  Object.entries(configurations).map(([name, config]) => {
    const bytes: number[] = [];
    commits(config, bytes)();
    return [name, { median: percentile(bytes, 0.5), p90: percentile(bytes, 0.9), max: Math.max(...bytes) }];
  }),
);
const documentBytes = Object.fromEntries(
  Object.entries(configurations).map(([name, config]) => {
    const store = new Store({ journalSize: 1, epoch: 'bench', indicators: config.plan });
    const ingest = new FileIngest(store, { key: 'ES.scid', source: 'sierra-scid', barBasis: 'trade', windows: config.windows, onProblem: () => undefined });
    ingest.begin(true);
    for (const tick of history) ingest.tick('ES', tick);
    ingest.finish();
    return [name, store.get('ES')?.documentJson().length ?? 0];
  }),
);
const file = startupFile(STARTUP_BYTES);
const startupTimes = measure({
  defaultWithIndicators: startup(file, configurations.defaultWithIndicators),
  m1Only: startup(file, configurations.m1Only),
});

const report = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: process.platform,
  },
  quick,
  method: `median of ${runs} interleaved runs after one warm-up each; ${TICKS} live ES ticks (80% trades), one every ${TICK_MS / 1000} s, after 24 h of history`,
  load: `load average ${loadavg()
    .map((value) => value.toFixed(1))
    .join(' ')} on ${cpus().length} cores at the end`,
  configuration: { bars: windows, indicators: DEFAULT_CONFIG.document.indicators, values: specs.length },
  indicatorsPerTick: {
    what: 'updating every indicator of one symbol after a tick, from the windows the commit composed',
    oursMicros: perTickMicros(indicatorTimes.incremental),
    batchRecomputeMicros: perTickMicros(indicatorTimes.batch),
    speedup: Number((indicatorTimes.batch / indicatorTimes.incremental).toFixed(1)),
  },
  commitPerTick: {
    what: 'a whole commit of one tick: candles of every window, composition, indicators, diff, patch serialised and journaled',
    micros: Object.fromEntries(Object.entries(commitTimes).map(([name, ms]) => [name, perTickMicros(ms)])),
  },
  patchBytesPerTick: { what: 'bytes of the JSON Patch ops of one tick', ...patchBytes },
  documentBytes,
  startup: {
    what: `first read of a .scid of 24 h of ticks, ${(file.length / 2 ** 20).toFixed(0)} MiB (${Math.round((file.length - SCID_HEADER_SIZE) / 40)} records), decoded and ingested in 1 MiB runs, one commit`,
    seconds: Object.fromEntries(Object.entries(startupTimes).map(([name, ms]) => [name, Number((ms / 1000).toFixed(3))])),
  },
};
const out = fileURLToPath(new URL(`./results/indicators${quick ? '-quick' : ''}.json`, import.meta.url));
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
