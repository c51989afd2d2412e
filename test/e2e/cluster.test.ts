import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BridgeProcess } from '../soak/bridge-process.js';
import { getJson, SseClient, WsClient, type MirroredDocument } from '../helpers/clients.js';
import { freePort } from '../helpers/ports.js';
import { RedisServer } from '../helpers/redis-server.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The cluster with real processes (PROTOCOL.md §7): ingest nodes read the files and publish
 * to a real redis-server, edge nodes read no files and serve the same contract from it.
 */

interface SymbolBody {
  symbol: string;
  epoch: string;
  seq: number;
  data: unknown;
}

let redis: RedisServer;
let prefixes = 0;
const nodes: BridgeProcess[] = [];
const clients: { close(): unknown }[] = [];

beforeAll(async () => {
  redis = await RedisServer.start({ persistent: true });
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await Promise.all(nodes.splice(0).map((node) => node.stop('SIGKILL')));
});
afterAll(async () => {
  await redis.close();
});

/** A node of the namespace `prefix`: an ingest of `folders`, or an edge without. */
async function startNode(
  prefix: string,
  nodeId: string,
  folders: string[],
  { url = redis.url, env = {}, wait = true }: { url?: string; env?: Record<string, string>; wait?: boolean } = {},
): Promise<BridgeProcess> {
  const dir = await tempDir();
  const configPath = join(dir, 'config.json');
  const port = await freePort();
  const config = {
    port,
    stream: { heartbeatMs: 200 },
    sources: folders.map((path) => ({ path })),
    cluster: { redis: url, prefix, nodeId, leaseMs: 1000 },
  };
  await writeFile(configPath, JSON.stringify(config));
  const node = new BridgeProcess(configPath, port, env);
  nodes.push(node);
  if (wait) await node.start();
  else void node.start().catch(() => undefined);
  return node;
}

async function folderOfFiles(): Promise<{ dir: string; files: TerminalFiles }> {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  return { dir, files };
}

const snapshot = async (node: BridgeProcess, symbol: string): Promise<SymbolBody | undefined> => {
  const answer = await getJson<SymbolBody>(`${node.url}/v1/symbols/${symbol}`);
  return answer.status === 200 ? answer.body : undefined;
};

/** Waits until `ingest` read every round of `files`, then until every symbol's document on `edges` and in `held` equals its own; gives the edges' versions. */
async function converged(
  ingest: BridgeProcess,
  edges: BridgeProcess[],
  symbols: readonly string[],
  held: ((symbol: string) => MirroredDocument | undefined)[] = [],
  files?: TerminalFiles,
): Promise<Map<string, SymbolBody>> {
  const versions = new Map<string, SymbolBody>();
  if (files) await waitFor('the ingest read every round written', async () => files.hasRead((await snapshot(ingest, 'XAUUSD'))?.data), 15_000);
  for (const symbol of symbols) {
    await waitFor(
      `${symbol} equal on every edge and client`,
      async () => {
        const local = await snapshot(ingest, symbol);
        if (!local) return false;
        const text = JSON.stringify(local.data);
        const remote = await Promise.all(edges.map((edge) => snapshot(edge, symbol)));
        if (remote.some((body) => JSON.stringify(body?.data) !== text)) return false;
        if (held.some((documentOf) => JSON.stringify(documentOf(symbol)?.data) !== text)) return false;
        const first = remote[0] as SymbolBody;
        if (remote.some((body) => body?.seq !== first.seq || body.epoch !== first.epoch)) return false;
        versions.set(symbol, first);
        return true;
      },
      15_000,
    );
  }
  return versions;
}

const trouble = (node: BridgeProcess): unknown => ({ errors: node.trouble.errorLines.map((line) => line.msg), crashes: node.trouble.crashes });

// Several processes each: minutes on a loaded 2-core machine are possible, seconds are usual.
describe('ingest and edge nodes through a real Redis', { timeout: 90_000 }, () => {
  it('one ingest and two edges: every edge lists every symbol and serves documents equal to the files, on WebSocket and SSE', async () => {
    const prefix = `t${++prefixes}`;
    const { dir, files } = await folderOfFiles();
    const ingest = await startNode(prefix, 'ingest-a', [dir]);
    const edges = [await startNode(prefix, 'edge-1', []), await startNode(prefix, 'edge-2', [])];
    const ws = await Promise.all(edges.map((edge) => WsClient.connect(edge.url)));
    const sse = await Promise.all(edges.map((edge) => SseClient.connect(edge.url, 'symbols=*')));
    clients.push(...ws, ...sse);
    expect(ws.map((client) => client.hello?.node)).toEqual(['edge-1', 'edge-2']);
    for (const client of ws) client.subscribe(['*']);
    for (let round = 0; round < 15; round++) await files.step();
    await converged(
      ingest,
      edges,
      TerminalFiles.symbols,
      [...ws, ...sse].map((client) => (symbol: string) => client.mirror.documents.get(symbol)),
      files,
    );
    for (const edge of edges) {
      const listed = await getJson<{ symbols: { symbol: string }[] }>(`${edge.url}/v1/symbols`);
      expect(listed.body.symbols.map((entry) => entry.symbol).sort()).toEqual([...TerminalFiles.symbols].sort());
      const health = await getJson<{ components: Record<string, { status: string; role: string; node: string }> }>(`${edge.url}/health`);
      expect(health.body.components.cluster).toMatchObject({ status: 'HEALTHY', role: 'edge' });
    }
    for (const client of [...ws, ...sse]) expect(client.mirror.violations).toEqual([]);
    expect(ws.every((client) => client.mirror.patches > 0)).toBe(true);
    for (const node of [ingest, ...edges]) expect(trouble(node)).toEqual({ errors: [], crashes: [] });
  });

  it('an edge killed: its WebSocket client resumes on the other edge with exactly the patches it missed, no snapshot', async () => {
    const prefix = `t${++prefixes}`;
    const { dir, files } = await folderOfFiles();
    const ingest = await startNode(prefix, 'ingest-a', [dir]);
    const [doomed, survivor] = [await startNode(prefix, 'edge-1', []), await startNode(prefix, 'edge-2', [])] as [BridgeProcess, BridgeProcess];
    const first = await WsClient.connect(doomed.url);
    clients.push(first);
    first.subscribe(['*']);
    for (let round = 0; round < 5; round++) await files.step();
    await converged(ingest, [doomed, survivor], TerminalFiles.symbols, [(symbol) => first.document(symbol)], files);
    await doomed.stop('SIGKILL');
    const held = new Map(TerminalFiles.symbols.map((symbol) => [symbol, first.document(symbol) as MirroredDocument]));
    for (let round = 0; round < 5; round++) await files.step();
    const second = await WsClient.connect(survivor.url);
    clients.push(second);
    for (const [symbol, document] of held) second.mirror.documents.set(symbol, structuredClone(document));
    second.subscribe(['*'], Object.fromEntries([...held].map(([symbol, { epoch, seq }]) => [symbol, { epoch, seq }])));
    const versions = await converged(ingest, [survivor], TerminalFiles.symbols, [(symbol) => second.document(symbol)], files);
    expect(second.of('snapshot')).toEqual([]);
    expect(second.mirror.violations).toEqual([]);
    const missed = [...held].reduce((sum, [symbol, document]) => sum + ((versions.get(symbol)?.seq ?? 0) - document.seq), 0);
    expect(missed).toBeGreaterThan(0);
    expect(second.of('patch')).toHaveLength(missed);
  });

  it('an edge started after the client left another: it resumes there with exactly the missed patches too (the edge reads the stream into its journal before it listens)', async () => {
    const prefix = `t${++prefixes}`;
    const { dir, files } = await folderOfFiles();
    const ingest = await startNode(prefix, 'ingest-a', [dir]);
    const doomed = await startNode(prefix, 'edge-1', []);
    const first = await WsClient.connect(doomed.url);
    clients.push(first);
    first.subscribe(['*']);
    for (let round = 0; round < 3; round++) await files.step();
    await converged(ingest, [doomed], TerminalFiles.symbols, [(symbol) => first.document(symbol)], files);
    await doomed.stop('SIGKILL');
    const held = new Map(TerminalFiles.symbols.map((symbol) => [symbol, first.document(symbol) as MirroredDocument]));
    for (let round = 0; round < 3; round++) await files.step();
    const fresh = await startNode(prefix, 'edge-3', []);
    const second = await WsClient.connect(fresh.url);
    clients.push(second);
    for (const [symbol, document] of held) second.mirror.documents.set(symbol, structuredClone(document));
    second.subscribe(['*'], Object.fromEntries([...held].map(([symbol, { epoch, seq }]) => [symbol, { epoch, seq }])));
    await converged(ingest, [fresh], TerminalFiles.symbols, [(symbol) => second.document(symbol)], files);
    expect(second.of('snapshot')).toEqual([]);
    expect(second.mirror.violations).toEqual([]);
    expect(second.of('patch').length).toBeGreaterThan(0);
  });

  it('an edge killed: its SSE client resumes on the other edge with exactly the patches it missed, no snapshot, and again on an edge started later', async () => {
    const prefix = `t${++prefixes}`;
    const { dir, files } = await folderOfFiles();
    const ingest = await startNode(prefix, 'ingest-a', [dir]);
    const [doomed, survivor] = [await startNode(prefix, 'edge-1', []), await startNode(prefix, 'edge-2', [])] as [BridgeProcess, BridgeProcess];
    const first = await SseClient.connect(doomed.url, 'symbols=*');
    clients.push(first);
    for (let round = 0; round < 3; round++) await files.step();
    await converged(ingest, [doomed, survivor], TerminalFiles.symbols, [(symbol) => first.mirror.documents.get(symbol)], files);
    await doomed.stop('SIGKILL');
    const seqsOf = (client: SseClient): Map<string, number> =>
      new Map(TerminalFiles.symbols.map((symbol) => [symbol, client.mirror.documents.get(symbol)?.seq ?? 0]));
    const missedBy = (held: Map<string, number>, versions: Map<string, SymbolBody>): number =>
      [...held].reduce((sum, [symbol, seq]) => sum + ((versions.get(symbol)?.seq ?? 0) - seq), 0);

    const held = seqsOf(first);
    for (let round = 0; round < 3; round++) await files.step();
    const second = await SseClient.connect(survivor.url, 'symbols=*', { 'last-event-id': first.lastEventId ?? '' }, first.mirror.documents);
    clients.push(second);
    const versions = await converged(ingest, [survivor], TerminalFiles.symbols, [(symbol) => second.mirror.documents.get(symbol)], files);
    expect(second.mirror.violations).toEqual([]);
    expect(second.events.filter((event) => event.event === 'snapshot')).toEqual([]);
    expect(missedBy(held, versions)).toBeGreaterThan(0);
    expect(second.events.filter((event) => event.event === 'patch')).toHaveLength(missedBy(held, versions));
    second.close();

    const heldThen = seqsOf(second);
    for (let round = 0; round < 2; round++) await files.step();
    const fresh = await startNode(prefix, 'edge-3', []);
    const third = await SseClient.connect(fresh.url, 'symbols=*', { 'last-event-id': second.lastEventId ?? '' }, second.mirror.documents);
    clients.push(third);
    const later = await converged(ingest, [fresh], TerminalFiles.symbols, [(symbol) => third.mirror.documents.get(symbol)], files);
    expect(third.mirror.violations).toEqual([]);
    expect(third.events.filter((event) => event.event === 'snapshot')).toEqual([]);
    expect(third.events.filter((event) => event.event === 'patch')).toHaveLength(missedBy(heldThen, later));
    for (const node of [ingest, survivor, fresh]) expect(trouble(node)).toEqual({ errors: [], crashes: [] });
  });

  it('the active ingest of a pair killed: the standby takes over in the same epoch and clients go on with patches', async () => {
    const prefix = `t${++prefixes}`;
    const { dir, files } = await folderOfFiles();
    const active = await startNode(prefix, 'ingest-a', [dir]);
    const edge = await startNode(prefix, 'edge-1', []);
    await converged(active, [edge], TerminalFiles.symbols, [], files);
    const standby = await startNode(prefix, 'ingest-b', [dir]);
    const health = await getJson<{ components: Record<string, { owned: number; standby: number }> }>(`${standby.url}/health`);
    expect(health.body.components.cluster).toMatchObject({ owned: 0, standby: TerminalFiles.symbols.length });
    const client = await WsClient.connect(edge.url);
    clients.push(client);
    client.subscribe(['*']);
    for (let round = 0; round < 3; round++) await files.step();
    const before = await converged(active, [edge], TerminalFiles.symbols, [(symbol) => client.document(symbol)], files);
    await active.stop('SIGKILL');
    for (let round = 0; round < 5; round++) await files.step();
    const after = await converged(standby, [edge], TerminalFiles.symbols, [(symbol) => client.document(symbol)], files);
    for (const symbol of TerminalFiles.symbols) {
      expect(after.get(symbol)?.epoch).toBe(before.get(symbol)?.epoch);
      expect(after.get(symbol)?.seq).toBeGreaterThan(before.get(symbol)?.seq ?? 0);
    }
    expect(client.of('snapshot')).toHaveLength(TerminalFiles.symbols.length);
    expect(client.mirror.violations).toEqual([]);
    expect(trouble(standby)).toEqual({ errors: [], crashes: [] });
  });

  it('two ingests of different folders feed one namespace', async () => {
    const prefix = `t${++prefixes}`;
    const one = await folderOfFiles();
    const other = await tempDir();
    await writeFile(join(other, 'BTCUSD.json'), JSON.stringify({ bid: 90_000, ask: 90_010, time: Date.now() }));
    const first = await startNode(prefix, 'ingest-a', [one.dir]);
    const second = await startNode(prefix, 'ingest-b', [other]);
    const edge = await startNode(prefix, 'edge-1', []);
    await converged(first, [edge], TerminalFiles.symbols, [], one.files);
    await converged(second, [edge], ['BTCUSD']);
    const listed = await getJson<{ symbols: { symbol: string }[] }>(`${edge.url}/v1/symbols`);
    expect(listed.body.symbols.map((entry) => entry.symbol).sort()).toEqual([...TerminalFiles.symbols, 'BTCUSD'].sort());
  });

  it('Redis restarted with its data, then empty: edges are DEGRADED meanwhile, recover, and converge (a new epoch after the empty one)', async () => {
    const prefix = `t${++prefixes}`;
    const { dir, files } = await folderOfFiles();
    const ingest = await startNode(prefix, 'ingest-a', [dir]);
    const edge = await startNode(prefix, 'edge-1', []);
    const client = await WsClient.connect(edge.url);
    clients.push(client);
    client.subscribe(['*']);
    const before = await converged(ingest, [edge], TerminalFiles.symbols, [(symbol) => client.document(symbol)], files);
    const clusterHealth = async (node: BridgeProcess): Promise<string | undefined> =>
      (await getJson<{ components: Record<string, { status: string }> }>(`${node.url}/health`)).body.components.cluster?.status;

    await redis.stop('SIGTERM');
    await waitFor('the edge DEGRADED', async () => (await clusterHealth(edge)) === 'DEGRADED');
    await waitFor('the ingest DEGRADED', async () => (await clusterHealth(ingest)) === 'DEGRADED');
    for (let round = 0; round < 3; round++) await files.step();
    await redis.restart();
    await waitFor('the edge HEALTHY', async () => (await clusterHealth(edge)) === 'HEALTHY', 15_000);
    const kept = await converged(ingest, [edge], TerminalFiles.symbols, [(symbol) => client.document(symbol)], files);
    for (const symbol of TerminalFiles.symbols) expect(kept.get(symbol)?.epoch).toBe(before.get(symbol)?.epoch);
    expect(client.of('snapshot')).toHaveLength(TerminalFiles.symbols.length);

    await redis.stop('SIGKILL');
    await redis.wipe();
    await redis.restart();
    for (let round = 0; round < 3; round++) await files.step();
    const fresh = await converged(ingest, [edge], TerminalFiles.symbols, [(symbol) => client.document(symbol)], files);
    for (const symbol of TerminalFiles.symbols) expect(fresh.get(symbol)?.epoch).not.toBe(before.get(symbol)?.epoch);
    expect(client.mirror.violations).toEqual([]);
    expect(trouble(edge)).toEqual({ errors: [], crashes: [] });
  });

  it('an edge stopped (SIGSTOP) does not slow the ingest, and catches up once it runs again (SIGCONT)', async () => {
    const prefix = `t${++prefixes}`;
    const { dir, files } = await folderOfFiles();
    const ingest = await startNode(prefix, 'ingest-a', [dir]);
    const edge = await startNode(prefix, 'edge-1', []);
    const local = await WsClient.connect(ingest.url);
    clients.push(local);
    local.subscribe(['*']);
    await converged(ingest, [edge], TerminalFiles.symbols, [(symbol) => local.document(symbol)], files);
    process.kill(edge.pid as number, 'SIGSTOP');
    try {
      for (let round = 0; round < 10; round++) await files.step();
      // The ingest's own clients and Redis go on while the edge does nothing at all.
      await waitFor('the ingest read every round', async () => files.hasRead((await snapshot(ingest, 'XAUUSD'))?.data));
      await waitFor(
        'its local client has them',
        async () => JSON.stringify(local.document('XAUUSD')?.data) === JSON.stringify((await snapshot(ingest, 'XAUUSD'))?.data),
      );
    } finally {
      process.kill(edge.pid as number, 'SIGCONT');
    }
    await converged(ingest, [edge], TerminalFiles.symbols, [], files);
    expect(trouble(edge)).toEqual({ errors: [], crashes: [] });
  });
});

describe('a Redis behind TLS and a password (rediss://user:pass@…)', { timeout: 90_000 }, () => {
  let secured: RedisServer;
  beforeAll(async () => {
    secured = await RedisServer.start({ tls: true });
  });
  afterAll(async () => {
    await secured.close();
  });

  it('joins ingest and edge through it; a wrong password leaves the node DEGRADED naming why, and the URL never shows', async () => {
    const prefix = `t${++prefixes}`;
    const { dir, files } = await folderOfFiles();
    const env = { NODE_EXTRA_CA_CERTS: secured.tls?.certFile ?? '' };
    const ingest = await startNode(prefix, 'ingest-a', [dir], { url: secured.tlsUrl, env });
    const edge = await startNode(prefix, 'edge-1', [], { url: secured.tlsUrl, env });
    for (let round = 0; round < 3; round++) await files.step();
    await converged(ingest, [edge], TerminalFiles.symbols, [], files);
    const shown = await getJson<{ config: { cluster: { redis: string } } }>(`${edge.url}/v1/config`);
    expect(JSON.stringify(shown.body)).not.toContain('secret');

    const refused = await startNode(prefix, 'edge-2', [], { url: secured.tlsUrl.replace(':secret@', ':wrong@'), env, wait: false });
    await waitFor(
      'the refused edge DEGRADED',
      async () => {
        const health = await getJson<{ components: Record<string, { status: string; reason?: string }> }>(`${refused.url}/health`);
        return (
          health.body.components.cluster?.status === 'DEGRADED' && /WRONGPASS|invalid username-password/i.test(health.body.components.cluster.reason ?? '')
        );
      },
      15_000,
    );
  });
});
