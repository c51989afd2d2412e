import { Type, type TSchema } from '@sinclair/typebox';
import { TIMEFRAMES, type JsonObject } from '../model/document.js';
import { MAX_LINE_BYTES } from '../formats/text.js';

/**
 * The checkpoint file as it is read back (checkpoint.ts): every part of it checked here, where
 * it enters, so that the stages trust what they are given. What the schema cannot say (bars in
 * order, windows that fit the configuration, a decoder's carry) the stages check as they restore.
 */

export const CHECKPOINT_FORMAT = 'tapebridge-checkpoint';
export const CHECKPOINT_VERSION = 1;

const Finite = Type.Number();
const Count = Type.Integer({ minimum: 0 });
const Strict = <T extends Parameters<typeof Type.Object>[0]>(properties: T) => Type.Object(properties, { additionalProperties: false });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([Type.Null(), schema]);
const Timeframe = Type.Union(TIMEFRAMES.map((timeframe) => Type.Literal(timeframe)));
const Json = Type.Unsafe<JsonObject>(Type.Record(Type.String(), Type.Unknown()));

const Bar = Strict({
  t: Finite,
  o: Finite,
  h: Finite,
  l: Finite,
  c: Finite,
  v: Finite,
  n: Type.Optional(Finite),
  bv: Type.Optional(Finite),
  av: Type.Optional(Finite),
});

const SavedWindow = Strict({
  timeframe: Timeframe,
  bars: Type.Array(Bar),
  edges: Type.Array(Type.Tuple([Finite, Finite, Finite])),
  lastMerge: Nullable(Strict({ t: Finite, before: Nullable(Bar), edges: Nullable(Type.Tuple([Finite, Finite])) })),
});

const Quote = Strict({
  bid: Type.Optional(Finite),
  ask: Type.Optional(Finite),
  last: Type.Optional(Finite),
  lastSize: Type.Optional(Finite),
  time: Type.Optional(Finite),
});

const BookLevel = Type.Union([Type.Tuple([Finite, Finite]), Type.Tuple([Finite, Finite, Finite])]);
const Book = Strict({ bids: Type.Array(BookLevel), asks: Type.Array(BookLevel), time: Type.Optional(Finite) });

const SavedContribution = Strict({
  source: Type.String(),
  barBasis: Type.Union([Type.Literal('trade'), Type.Literal('auto')]),
  quote: Nullable(Quote),
  built: Type.Array(SavedWindow),
  stated: Type.Array(Strict({ window: SavedWindow, rollups: Type.Array(SavedWindow) })),
  documentBars: Type.Partial(Type.Record(Timeframe, Type.Array(Bar))),
  book: Nullable(Book),
  fields: Nullable(Json),
  sawTrade: Type.Boolean(),
});

const SavedIngestSchema = Strict({
  newest: Nullable(Finite),
  contributions: Type.Array(Strict({ symbol: Type.String(), contribution: SavedContribution })),
});

const SavedTailSchema = Strict({
  format: Type.String(),
  dev: Finite,
  ino: Finite,
  position: Count,
  // A partial record or line: at most a line's limit, in base64.
  pending: Nullable(Type.String({ maxLength: Math.ceil((MAX_LINE_BYTES * 4) / 3) + 4 })),
  headBytes: Count,
  headHash: Type.String(),
  markBytes: Count,
  markHash: Type.String(),
  decoder: Json,
});

const SavedFileSchema = Strict({ path: Type.String({ minLength: 1 }), tail: SavedTailSchema, ingest: SavedIngestSchema });

/** The envelope: what tells a checkpoint of ours, of this version, from anything else. */
export const CheckpointEnvelope = Type.Object({ format: Type.Literal(CHECKPOINT_FORMAT), version: Type.Literal(CHECKPOINT_VERSION) });

export const CheckpointSchema = Strict({
  format: Type.Literal(CHECKPOINT_FORMAT),
  version: Type.Literal(CHECKPOINT_VERSION),
  savedAt: Type.String(),
  /** The configuration that shapes what files contribute (sources.ts documentShape): another one makes the checkpoint foreign. */
  shape: Type.String(),
  sources: Type.Array(Strict({ source: Type.String(), files: Type.Array(SavedFileSchema) })),
});
