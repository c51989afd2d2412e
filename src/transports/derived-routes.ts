import type { FastifyInstance } from 'fastify';
import type { DerivedCache } from '../derive/cache.js';
import { INDICATOR_NAMES, MAX_PERIOD, specOf, STANDARD_SET, type IndicatorName, type IndicatorSpec } from '../derive/indicators/catalog.js';
import { barsOf, indicatorsOf, sourceOf, type WindowSource } from '../derive/queries.js';
import { ClientError } from '../model/errors.js';
import { TIMEFRAMES, type InstrumentDocument, type Timeframe } from '../model/document.js';
import type { Store } from '../state/store.js';
import type { SymbolState } from '../state/symbol-state.js';
import { SYMBOL_PARAMS_SCHEMA, type SymbolParams } from '../model/wire.js';
import { sendError } from './http.js';

const BARS_ROUTE = '/v1/symbols/:symbol/bars';
const INDICATORS_ROUTE = '/v1/symbols/:symbol/indicators';
const MAX_COUNT = 100_000;

export interface DerivedParts {
  store: Store;
  cache: DerivedCache;
}

interface BarsQuery {
  tf: Timeframe;
  count?: number;
}

interface IndicatorsQuery {
  tf: Timeframe;
  name?: IndicatorName;
  period?: number;
}

const tf = { type: 'string', enum: TIMEFRAMES } as const;

/**
 * The on-demand routes of PROTOCOL.md §5: a symbol's bars of a timeframe, and indicator
 * values of any period. Every answer goes through the shared cache, keyed by what it is
 * computed from and the version of that timeframe's data (DerivedCache).
 */
export function registerDerivedRoutes(app: FastifyInstance, { store, cache }: DerivedParts): void {
  app.get<{ Params: SymbolParams; Querystring: BarsQuery }>(
    BARS_ROUTE,
    {
      config: { symbolRoute: true },
      schema: {
        params: SYMBOL_PARAMS_SCHEMA,
        querystring: { type: 'object', required: ['tf'], properties: { tf, count: { type: 'integer', minimum: 1, maximum: MAX_COUNT } } },
      },
    },
    async (request, reply) => {
      const { tf: timeframe, count } = request.query;
      const found = windowFor(store, request.params.symbol, timeframe);
      if (found instanceof ClientError) return sendError(reply, found.code, found.message);
      const { state, source } = found;
      const key = `bars\0${state.symbol}\0${timeframe}\0${source.timeframe}\0${count ?? ''}\0${state.versionOf(source.timeframe)}`;
      const seq = state.seq;
      const body = await cache.get('bars', key, () => {
        const bars = barsOf(source, timeframe, store.indicatorPlan.sessionZone);
        return `${payloadHead(timeframe, source)}"bars":${JSON.stringify(count === undefined ? bars : bars.slice(-count))}`;
      });
      return reply
        .type('application/json')
        .header('cache-control', 'no-cache')
        .send(envelope(store, state, seq, body));
    },
  );

  app.get<{ Params: SymbolParams; Querystring: IndicatorsQuery }>(
    INDICATORS_ROUTE,
    {
      config: { symbolRoute: true },
      schema: {
        params: SYMBOL_PARAMS_SCHEMA,
        querystring: {
          type: 'object',
          required: ['tf'],
          properties: { tf, name: { type: 'string', enum: INDICATOR_NAMES }, period: { type: 'integer', minimum: 1, maximum: MAX_PERIOD } },
        },
      },
    },
    async (request, reply) => {
      const { tf: timeframe, name, period } = request.query;
      const specs = specsOf(store, timeframe, name, period);
      if (specs instanceof ClientError) return sendError(reply, specs.code, specs.message);
      const found = windowFor(store, request.params.symbol, timeframe);
      if (found instanceof ClientError) return sendError(reply, found.code, found.message);
      const { state, document, source } = found;
      const plan = store.indicatorPlan;
      const key = `indicators\0${state.symbol}\0${timeframe}\0${source.timeframe}\0${specs.map((spec) => spec.key).join(',')}\0${state.versionOf(source.timeframe)}`;
      const seq = state.seq;
      const body = await cache.get('indicators', key, () => {
        const bars = barsOf(source, timeframe, plan.sessionZone);
        const answer = indicatorsOf(document, timeframe, bars, source.timeframe === timeframe, specs, plan);
        const missing = Object.keys(answer.missing).length > 0 ? `,"missing":${JSON.stringify(answer.missing)}` : '';
        return `${payloadHead(timeframe, source)}"bars":${bars.length},"indicators":${JSON.stringify(answer.values)}${missing}`;
      });
      return reply
        .type('application/json')
        .header('cache-control', 'no-cache')
        .send(envelope(store, state, seq, body));
    },
  );
}

/** The symbol's state and the window `timeframe` is answered from, or the error to send. */
function windowFor(
  store: Store,
  symbol: string,
  timeframe: Timeframe,
): { state: SymbolState; document: InstrumentDocument; source: WindowSource } | ClientError {
  const state = store.get(symbol);
  if (!state) return new ClientError('NOT_FOUND', `no symbol ${JSON.stringify(symbol)}`);
  const document = state.document;
  const source = sourceOf(document, timeframe);
  if (!source) {
    const held = Object.keys(document.bars);
    return new ClientError(
      'NOT_FOUND',
      `no ${timeframe} bars for ${JSON.stringify(symbol)}, and no finer ones to build them from (it has ${held.length > 0 ? held.join(', ') : 'no bars'})`,
    );
  }
  return { state, document, source };
}

/** The indicators asked for: one by name (its default period unless given), else the standard set and those configured. */
function specsOf(store: Store, timeframe: Timeframe, name: IndicatorName | undefined, period: number | undefined): IndicatorSpec[] | ClientError {
  if (name === undefined) {
    if (period !== undefined) return new ClientError('BAD_REQUEST', 'querystring/period needs a name');
    const specs = [...STANDARD_SET];
    for (const spec of store.indicatorPlan.specs(timeframe)) if (!specs.some((known) => known.key === spec.key)) specs.push(spec);
    return specs;
  }
  try {
    return [specOf(name, period)];
  } catch (error) {
    return new ClientError('BAD_REQUEST', `querystring/period: ${(error as Error).message}`);
  }
}

function payloadHead(timeframe: Timeframe, source: WindowSource): string {
  return source.timeframe === timeframe ? `"tf":"${timeframe}",` : `"tf":"${timeframe}","builtFrom":"${source.timeframe}",`;
}

function envelope(store: Store, state: SymbolState, seq: number, body: string): string {
  return `{"symbol":${state.symbolJson},"epoch":"${store.epoch}","seq":${seq},${body}}`;
}
